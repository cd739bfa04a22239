/* spandsp's DTMF receiver driven the way a C media engine drives it, for bench/dtmf.py.
 *
 *   spandsp_dtmf speed CHANNELS FILE   every channel gets 160-sample frames of FILE (raw
 *                                      int16 mono, each channel starting at its own offset);
 *                                      prints "channels seconds_of_audio cpu_seconds".
 *   spandsp_dtmf detect FILE           one receiver over FILE in 160-sample frames; prints one
 *                                      line "digit sample" per key as it is recognised.
 *
 * The receiver runs with spandsp's defaults (dtmf_rx_init with no parameter changes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spandsp.h>

#include "spandsp_common.h"

#define FRAME 160

static void ignore_digits(void *user_data, const char *digits, int len)
{
    (void) user_data;
    (void) digits;
    (void) len;
}

static long position;

static void report(void *user_data, int code, int level, int delay)
{
    (void) user_data;
    (void) level;
    (void) delay;
    if (code)
        printf("%c %ld\n", code, position);
}

static int speed(int channels, const char *path)
{
    long samples;
    int16_t *audio = read_raw(path, &samples);
    long frames = samples / FRAME;
    dtmf_rx_state_t **rx = malloc(channels * sizeof(*rx));
    long *offset = malloc(channels * sizeof(*offset));
    for (int c = 0; c < channels; c++) {
        rx[c] = dtmf_rx_init(NULL, ignore_digits, NULL);
        offset[c] = (c * 7919L) % frames;  /* channels do not all hear the same frame */
    }
    double t0 = cpu_seconds();
    for (long f = 0; f < frames; f++) {
        for (int c = 0; c < channels; c++) {
            long at = (f + offset[c]) % frames;
            dtmf_rx(rx[c], audio + at * FRAME, FRAME);
        }
    }
    double t1 = cpu_seconds();
    printf("%d %.6f %.6f\n", channels, (double) frames * FRAME / 8000.0, t1 - t0);
    for (int c = 0; c < channels; c++)
        dtmf_rx_free(rx[c]);
    free(rx);
    free(offset);
    free(audio);
    return 0;
}

static int detect(const char *path)
{
    long samples;
    int16_t *audio = read_raw(path, &samples);
    dtmf_rx_state_t *rx = dtmf_rx_init(NULL, ignore_digits, NULL);
    dtmf_rx_set_realtime_callback(rx, report, NULL);
    for (position = 0; position + FRAME <= samples; position += FRAME)
        dtmf_rx(rx, audio + position, FRAME);
    dtmf_rx_free(rx);
    free(audio);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "speed") == 0)
        return speed(atoi(argv[2]), argv[3]);
    if (argc == 3 && strcmp(argv[1], "detect") == 0)
        return detect(argv[2]);
    fprintf(stderr, "usage: %s speed CHANNELS FILE | detect FILE\n", argv[0]);
    return 2;
}
