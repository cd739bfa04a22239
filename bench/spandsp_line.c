/* spandsp's caller-ID (ADSI, Bell 202 "CLASS") receiver and line echo canceller, driven the
 * way a C media engine drives them, for bench/line.py.
 *
 *   spandsp_line fsk-speed CHANNELS FILE    every channel gets 160-sample frames of FILE (raw
 *                                           int16 mono, each channel at its own offset);
 *                                           prints "seconds_of_audio cpu_seconds messages".
 *   spandsp_line fsk-detect FILE            one receiver over FILE; prints the number of
 *                                           messages it delivered.
 *   spandsp_line ec-speed CHANNELS TAPS RX TX   one echo_can per channel (adaption on, no
 *                                           NLP), every channel the same rx/tx files at its
 *                                           own offset; prints "seconds_of_audio cpu_seconds".
 *   spandsp_line ec-run TAPS RX TX OUT      one echo_can over RX against TX; writes the clean
 *                                           rx to OUT (raw int16).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spandsp.h>

#include "spandsp_common.h"

#define FRAME 160

/* Debian's libspandsp echo_can prints two debug lines per sample ("echo is ...",
 * "Narrowband score ...") through printf, which its fortified build calls as __printf_chk.
 * Defining that here interposes the library's calls (the executable's symbol wins), so the
 * timing measures the canceller, not stdio. This program writes its output with fprintf. */
int __printf_chk(int flag, const char *format, ...)
{
    (void) flag;
    (void) format;
    return 0;
}

static long messages;

static void count_message(void *user_data, const uint8_t *msg, int len)
{
    (void) user_data;
    (void) msg;
    if (len > 0)
        messages++;
}

static int fsk_speed(int channels, const char *path)
{
    long samples;
    int16_t *audio = read_raw(path, &samples);
    long frames = samples / FRAME;
    adsi_rx_state_t **rx = malloc(channels * sizeof(*rx));
    long *offset = malloc(channels * sizeof(*offset));
    for (int c = 0; c < channels; c++) {
        rx[c] = adsi_rx_init(NULL, ADSI_STANDARD_CLASS, count_message, NULL);
        offset[c] = (c * 7919L) % frames;
    }
    double t0 = cpu_seconds();
    for (long f = 0; f < frames; f++)
        for (int c = 0; c < channels; c++)
            adsi_rx(rx[c], audio + ((f + offset[c]) % frames) * FRAME, FRAME);
    double t1 = cpu_seconds();
    fprintf(stdout, "%.6f %.6f %ld\n", (double) frames * FRAME / 8000.0, t1 - t0, messages);
    for (int c = 0; c < channels; c++)
        adsi_rx_free(rx[c]);
    free(rx);
    free(offset);
    free(audio);
    return 0;
}

static int fsk_detect(const char *path)
{
    long samples;
    int16_t *audio = read_raw(path, &samples);
    adsi_rx_state_t *rx = adsi_rx_init(NULL, ADSI_STANDARD_CLASS, count_message, NULL);
    for (long at = 0; at + FRAME <= samples; at += FRAME)
        adsi_rx(rx, audio + at, FRAME);
    fprintf(stdout, "%ld\n", messages);
    adsi_rx_free(rx);
    free(audio);
    return 0;
}

static int ec_speed(int channels, int taps, const char *rx_path, const char *tx_path)
{
    long samples, tx_samples;
    int16_t *rx = read_raw(rx_path, &samples);
    int16_t *tx = read_raw(tx_path, &tx_samples);
    long frames = (samples < tx_samples ? samples : tx_samples) / FRAME;
    echo_can_state_t **ec = malloc(channels * sizeof(*ec));
    long *offset = malloc(channels * sizeof(*offset));
    int16_t out[FRAME];
    long sink = 0;
    for (int c = 0; c < channels; c++) {
        ec[c] = echo_can_init(taps, ECHO_CAN_USE_ADAPTION);
        offset[c] = (c * 7919L) % frames;
    }
    double t0 = cpu_seconds();
    for (long f = 0; f < frames; f++) {
        for (int c = 0; c < channels; c++) {
            long at = ((f + offset[c]) % frames) * FRAME;
            for (int i = 0; i < FRAME; i++)
                out[i] = echo_can_update(ec[c], tx[at + i], rx[at + i]);
            sink += out[FRAME - 1];
        }
    }
    double t1 = cpu_seconds();
    fprintf(stdout, "%.6f %.6f\n", (double) frames * FRAME / 8000.0, t1 - t0);
    fprintf(stderr, "%ld\n", sink);  /* keeps the loop from being optimised away */
    for (int c = 0; c < channels; c++)
        echo_can_free(ec[c]);
    free(ec);
    free(offset);
    free(rx);
    free(tx);
    return 0;
}

static int ec_run(int taps, const char *rx_path, const char *tx_path, const char *out_path)
{
    long samples, tx_samples;
    int16_t *rx = read_raw(rx_path, &samples);
    int16_t *tx = read_raw(tx_path, &tx_samples);
    long n = samples < tx_samples ? samples : tx_samples;
    int16_t *out = malloc(n * sizeof(*out));
    echo_can_state_t *ec = echo_can_init(taps, ECHO_CAN_USE_ADAPTION);
    for (long i = 0; i < n; i++)
        out[i] = echo_can_update(ec, tx[i], rx[i]);
    FILE *f = fopen(out_path, "wb");
    if (f == NULL || fwrite(out, sizeof(*out), n, f) != (size_t) n) {
        perror(out_path);
        return 2;
    }
    fclose(f);
    echo_can_free(ec);
    free(out);
    free(rx);
    free(tx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "fsk-speed") == 0)
        return fsk_speed(atoi(argv[2]), argv[3]);
    if (argc == 3 && strcmp(argv[1], "fsk-detect") == 0)
        return fsk_detect(argv[2]);
    if (argc == 6 && strcmp(argv[1], "ec-speed") == 0)
        return ec_speed(atoi(argv[2]), atoi(argv[3]), argv[4], argv[5]);
    if (argc == 6 && strcmp(argv[1], "ec-run") == 0)
        return ec_run(atoi(argv[2]), argv[3], argv[4], argv[5]);
    fprintf(stderr, "usage: %s fsk-speed CHANNELS FILE | fsk-detect FILE | "
                    "ec-speed CHANNELS TAPS RX TX | ec-run TAPS RX TX OUT\n", argv[0]);
    return 2;
}
