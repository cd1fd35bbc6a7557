// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd-attach BDF COUNT: bind the PCI device BDF (bound to vfio-pci) to
 * an iommufd through its VFIO cdev, then attach it to an IOAS and detach it
 * COUNT times. These are real attaches of a real device to an IOMMU paging
 * domain, so they fail with EBUSY while a device of its group is blocked
 * (a reset in progress, a failed reset, a quarantine), and succeed again once
 * it is recovered: a leaked recovery count shows as EBUSY for good.
 *
 * Prints "bind ok" or "bind busy", then "attach ok N busy M". Exit status:
 * 0 when every step either succeeded or failed with EBUSY, 1 on any other
 * error (named on stderr with its errno).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

/* The cdev of BDF: /sys/bus/pci/devices/BDF/vfio-dev/vfioN -> /dev/vfio/devices/vfioN */
static int open_vfio_cdev(const char *bdf)
{
	char path[sizeof("/dev/vfio/devices/") + sizeof(((struct dirent *)0)->d_name)];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir) {
		fprintf(stderr, "%s: %s (is it bound to vfio-pci?)\n", path, strerror(errno));
		return -1;
	}
	while ((d = readdir(dir)) && strncmp(d->d_name, "vfio", 4))
		;
	if (!d) {
		closedir(dir);
		fprintf(stderr, "%s: no vfio cdev\n", path);
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", d->d_name);
	closedir(dir);
	return open(path, O_RDWR);
}

int main(int argc, char **argv)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	unsigned long ok = 0, busy = 0, i, count;
	int iommufd, vfio;

	if (argc != 3) {
		fprintf(stderr, "usage: %s BDF COUNT\n", argv[0]);
		return 1;
	}
	count = strtoul(argv[2], NULL, 0);
	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0) {
		perror("/dev/iommu");
		return 1;
	}
	vfio = open_vfio_cdev(argv[1]);
	if (vfio < 0) {
		perror("vfio cdev");
		return 1;
	}
	bind.iommufd = iommufd;
	if (ioctl(vfio, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
		if (errno != EBUSY) {
			perror("VFIO_DEVICE_BIND_IOMMUFD");
			return 1;
		}
		printf("bind busy\n");
		return 0;
	}
	printf("bind ok\n");
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &ioas)) {
		perror("IOMMU_IOAS_ALLOC");
		return 1;
	}
	for (i = 0; i < count; i++) {
		struct vfio_device_attach_iommufd_pt attach = {
			.argsz = sizeof(attach), .pt_id = ioas.out_ioas_id,
		};
		struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };

		if (ioctl(vfio, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach)) {
			if (errno != EBUSY) {
				perror("VFIO_DEVICE_ATTACH_IOMMUFD_PT");
				return 1;
			}
			busy++;
			continue;
		}
		ok++;
		if (ioctl(vfio, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach)) {
			perror("VFIO_DEVICE_DETACH_IOMMUFD_PT");
			return 1;
		}
	}
	printf("attach ok %lu busy %lu\n", ok, busy);
	return 0;
}
