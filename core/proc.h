/*
 * proc.h - a process's identity on this machine, so that a pid recorded
 * earlier is signalled only while it still names the same process: its
 * start time (field 22 of /proc/PID/stat, clock ticks after boot) and the
 * boot it belongs to (/proc/sys/kernel/random/boot_id). A pid alone is
 * reused, by any process, after the one it named is gone or after a reboot.
 */
#ifndef BILLRUN_PROC_H
#define BILLRUN_PROC_H

#include <stddef.h>
#include <sys/types.h>

#define PROC_BOOT_ID_MAX 40 /* 36 characters and a NUL */

/* This boot's id into buf (PROC_BOOT_ID_MAX bytes). 0, or -1 when /proc
 * does not say (buf is then ""). */
int proc_boot_id(char *buf, size_t size);

/* The start time of process pid (clock ticks after boot). 0, or -1 when
 * there is no such process (or /proc cannot be read). A zombie still has
 * one. */
int proc_start_time(pid_t pid, unsigned long long *ticks);

/* What a recorded (pid, start time, boot id) names now. */
enum proc_match {
	PROC_SAME,       /* that very process, alive */
	PROC_GONE,       /* no process has that pid (in this boot) */
	PROC_STRANGER,   /* another process has the pid now */
	PROC_OTHER_BOOT, /* it was recorded in an earlier boot: gone, whatever has the pid */
	PROC_UNRECORDED  /* no start time or boot id was recorded: cannot tell */
};

/* Compare a recorded identity with the process that has pid now. start
 * and boot may be 0 and NULL or "" (not recorded). Never fails. */
enum proc_match proc_identify(pid_t pid, unsigned long long start, const char *boot);

/* Does a process group pgid exist (any member, its leader alive or not)? */
int proc_group_alive(pid_t pgid);

#endif
