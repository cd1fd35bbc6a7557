// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd-attach BDF COUNT [inject]: bind the PCI device BDF (bound to
 * vfio-pci) to an iommufd through its VFIO cdev, then attach it to an IOAS
 * and detach it COUNT times. With "inject", while the first attach lasts,
 * name the device in /sys/kernel/debug/fail_iommu_atc_inv/device (whose
 * other attributes the caller set), map a page in the IOAS and unmap it, so
 * that the ATC invalidation of the unmap times out, then name no device
 * again; the other attaches come half a second later, once the IOMMU core
 * has quarantined the device. Not armed before: opening the device resets
 * it, which would end the quarantine at once. These are real attaches of a real device to an IOMMU paging
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
#include <sys/mman.h>
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

/* Name @bdf, or no device (""), as the one whose ATC invalidations fail. */
static int choose_failing_device(const char *bdf)
{
	const char *path = "/sys/kernel/debug/fail_iommu_atc_inv/device";
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, bdf, strlen(bdf) + 1) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* Map one page of anonymous memory at a fixed IOVA of @ioas, and unmap it. */
static int map_and_unmap(int iommufd, __u32 ioas)
{
	long page = sysconf(_SC_PAGESIZE);
	void *buf = mmap(NULL, page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (unsigned long)buf,
		.length = page,
		.iova = 1 << 20,
	};
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = ioas, .iova = 1 << 20, .length = page,
	};

	if (buf == MAP_FAILED || ioctl(iommufd, IOMMU_IOAS_MAP, &map) ||
	    ioctl(iommufd, IOMMU_IOAS_UNMAP, &unmap)) {
		perror("map and unmap a page");
		return -1;
	}
	munmap(buf, page);
	return 0;
}

int main(int argc, char **argv)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	unsigned long ok = 0, busy = 0, i, count;
	int iommufd, vfio, inject;

	inject = argc == 4 && !strcmp(argv[3], "inject");
	if (argc != 3 && !inject) {
		fprintf(stderr, "usage: %s BDF COUNT [inject]\n", argv[0]);
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
		if (inject && !i &&
		    (choose_failing_device(argv[1]) ||
		     map_and_unmap(iommufd, ioas.out_ioas_id) ||
		     choose_failing_device("")))
			return 1;
		if (ioctl(vfio, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach)) {
			perror("VFIO_DEVICE_DETACH_IOMMUFD_PT");
			return 1;
		}
		if (inject && !i)
			usleep(500000);
	}
	printf("attach ok %lu busy %lu\n", ok, busy);
	return 0;
}
