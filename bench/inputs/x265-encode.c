// x265-encode PRESET [ASM]: encodes 12 synthetic 64x64 frames with libx265
// (no headers needed: the few calls are declared here; x265_picture's planes
// and strides at their offsets in x265 3.x) and writes the stream to stdout.
// largest-programs.sh compares the stream of the original and the rewritten
// library.
#include <stdint.h>
#include <stdio.h>

typedef struct {
  uint32_t type, sizeBytes;
  uint8_t *payload;
} Nal;
void *x265_param_alloc(void);
int x265_param_default_preset(void *, const char *, const char *);
int x265_param_parse(void *, const char *, const char *);
void *x265_encoder_open_199(void *);
void *x265_picture_alloc(void);
void x265_picture_init(void *, void *);
int x265_encoder_encode(void *, Nal **, uint32_t *, void *, void *);
void x265_encoder_close(void *);

static void put(Nal *nals, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i)
    fwrite(nals[i].payload, 1, nals[i].sizeBytes, stdout);
}

int main(int argc, char **argv) {
  void *p = x265_param_alloc();
  if (x265_param_default_preset(p, argc > 1 ? argv[1] : "medium", NULL))
    return 2;
  const char *settings[][2] = {{"input-res", "64x64"}, {"fps", "25"},           {"pools", "none"},
                               {"frame-threads", "1"}, {"log-level", "none"},   {"info", "0"},
                               {"lookahead-slices", "0"}, {"asm", argc > 2 ? argv[2] : "auto"}};
  for (unsigned i = 0; i < sizeof settings / sizeof *settings; ++i)
    if (x265_param_parse(p, settings[i][0], settings[i][1]))
      return 2;
  void *encoder = x265_encoder_open_199(p);
  if (!encoder)
    return 3;
  static uint8_t y[64 * 64], u[32 * 32], v[32 * 32];
  void *pic = x265_picture_alloc();
  x265_picture_init(p, pic);
  void **planes = (void **)((char *)pic + 24);
  int *stride = (int *)((char *)pic + 48);
  planes[0] = y, planes[1] = u, planes[2] = v;
  stride[0] = 64, stride[1] = stride[2] = 32;
  Nal *nals;
  uint32_t n;
  for (int f = 0; f < 12; ++f) {
    for (int i = 0; i < 64 * 64; ++i)
      y[i] = (uint8_t)((i % 64) * 3 + (i / 64) * f + (i * 7919 % 13));
    for (int i = 0; i < 32 * 32; ++i)
      u[i] = (uint8_t)(i + f), v[i] = (uint8_t)(i * 5 - f);
    *(int64_t *)pic = f; // pts
    if (x265_encoder_encode(encoder, &nals, &n, pic, NULL) < 0)
      return 4;
    put(nals, n);
  }
  while (x265_encoder_encode(encoder, &nals, &n, NULL, NULL) > 0)
    put(nals, n);
  x265_encoder_close(encoder);
  return 0;
}
