/* What the spandsp comparison programs (spandsp_dtmf.c, spandsp_line.c) share: reading a raw
 * int16 file whole, and the process's CPU time. */
#ifndef BRANCHLINE_SPANDSP_COMMON_H
#define BRANCHLINE_SPANDSP_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int16_t *read_raw(const char *path, long *samples)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    int16_t *data = malloc(bytes);
    if (data == NULL || fread(data, 1, bytes, f) != (size_t) bytes) {
        fprintf(stderr, "%s: cannot read %ld bytes\n", path, bytes);
        exit(2);
    }
    fclose(f);
    *samples = bytes / 2;
    return data;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
