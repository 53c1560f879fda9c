/*
 * proc.c - reading a process's identity (start time, boot id) from /proc
 * (see proc.h).
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read a small file whole into buf (NUL-terminated). Bytes read, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n, total = 0;
	while ((size_t)total + 1 < size && (n = read(fd, buf + total, size - 1 - (size_t)total)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

int proc_boot_id(char *buf, size_t size)
{
	char text[128];
	buf[0] = '\0';
	if (read_small("/proc/sys/kernel/random/boot_id", text, sizeof(text)) <= 0)
		return -1;
	text[strcspn(text, "\n")] = '\0';
	snprintf(buf, size, "%s", text);
	return buf[0] ? 0 : -1;
}

int proc_start_time(pid_t pid, unsigned long long *ticks)
{
	char path[64], text[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, text, sizeof(text)) <= 0)
		return -1;
	/* "PID (COMM) S PPID ...": COMM may hold spaces and parentheses, so
	 * count from the last ')'. Field 3 (the state) follows it; the start
	 * time is field 22. */
	char *p = strrchr(text, ')');
	if (!p)
		return -1;
	p++;
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -1;
		if (field == 22) {
			char *end;
			errno = 0;
			*ticks = strtoull(p, &end, 10);
			return errno || end == p ? -1 : 0;
		}
		p += strcspn(p, " ");
	}
	return -1;
}

enum proc_match proc_identify(pid_t pid, unsigned long long start, const char *boot)
{
	char now[PROC_BOOT_ID_MAX];
	unsigned long long ticks;

	if (!start || !boot || !*boot)
		return PROC_UNRECORDED;
	if (proc_boot_id(now, sizeof(now)) != 0 || strcmp(now, boot) != 0)
		return PROC_OTHER_BOOT;
	if (proc_start_time(pid, &ticks) != 0)
		return PROC_GONE;
	return ticks == start ? PROC_SAME : PROC_STRANGER;
}

int proc_group_alive(pid_t pgid)
{
	return pgid > 0 && (kill(-pgid, 0) == 0 || errno == EPERM);
}
