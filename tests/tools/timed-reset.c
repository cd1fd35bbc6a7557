// SPDX-License-Identifier: GPL-2.0-only
/*
 * timed-reset PCIDEV [DISK]: write "1" to PCIDEV/reset (sysfs) and print how
 * long it took, in nanoseconds (CLOCK_MONOTONIC). With DISK (a block device
 * of PCIDEV), also read its first 4 KiB with O_DIRECT after the reset and
 * print the time from the start of the reset to the end of that read: when
 * the device does DMA again. Exit status 1 if the reset or the read fails.
 *
 * Output: "reset_ns N" [and "reset_to_dma_ns N"].
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	char path[512];
	long long t0, t1, t2;
	void *buf;
	int fd;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s PCIDEV [DISK]\n", argv[0]);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/reset", argv[1]);
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	t0 = now_ns();
	if (write(fd, "1\n", 2) != 2) {
		fprintf(stderr, "reset of %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	t1 = now_ns();
	close(fd);
	printf("reset_ns %lld\n", t1 - t0);
	if (argc == 2)
		return 0;
	if (posix_memalign(&buf, 4096, 4096))
		return 1;
	fd = open(argv[2], O_RDONLY | O_DIRECT);
	if (fd < 0 || pread(fd, buf, 4096, 0) != 4096) {
		fprintf(stderr, "O_DIRECT read of %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	t2 = now_ns();
	close(fd);
	printf("reset_to_dma_ns %lld\n", t2 - t0);
	return 0;
}
