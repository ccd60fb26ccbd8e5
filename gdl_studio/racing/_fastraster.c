/*
 * Exact, sparse re-implementation of the CarRacing-v3 ``state_pixels`` frame.
 *
 * Stock CarRacing draws ~20 flat-coloured polygons onto a 1000x800 surface (pygame.gfxdraw's
 * aapolygon + filled_polygon for grass and road, pygame.draw.polygon for the car), flips it,
 * draws the HUD and smooth-scales the whole surface to 96x96. Nearly all of that time is spent
 * writing and then averaging 800,000 pixels that are mostly one colour.
 *
 * This file reproduces the same integer arithmetic as pygame 2.6 (SDL_gfx's filledPolygonColorMT,
 * _aalineColor, _clipLine and _putPixelAlpha for 32-bit surfaces; draw.c's draw_fillpoly; the
 * smooth-scale filters filter_shrink_X/Y in their SSE and GENERIC forms), but stores each row as
 * 96 tiles -- exactly the source spans that feed one output pixel of the horizontal smooth-scale
 * pass -- and keeps a tile as a single colour until something draws only part of it. The
 * horizontal pass of a one-colour tile is then a few multiplications instead of ten additions per
 * channel, and fills never touch pixel memory. The result is the same bytes as pygame's.
 *
 * Pixels are 0x00RRGGBB, i.e. the values of an SDL XRGB8888 surface (what pygame.Surface((w, h))
 * gives). The caller checks that the surface format and smooth-scale backend match before using it.
 *
 * No Python API is used: the library is loaded with ctypes (gdl_studio/racing/native_raster.py).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#define EXPORT __declspec(dllexport)
#else
#define EXPORT __attribute__((visibility("default")))
#endif

#define W 1000           /* surface width (WINDOW_W) */
#define H 800            /* surface height (WINDOW_H) */
#define Y0 100           /* first tracked row before the flip: rows 0..99 end up under the HUD bar */
#define NR (H - Y0)      /* tracked rows */
#define NT 96            /* output width (STATE_W): tiles per row */
#define NO 96            /* output height (STATE_H) */
#define HUD_ROWS 100     /* rows of the HUD after the flip (700..799) */

#define RMASK 0x00FF0000u
#define GMASK 0x0000FF00u
#define BMASK 0x000000FFu

enum { MODE_SSE = 0, MODE_GENERIC = 1 };
enum { KIND_GFX = 0, KIND_DRAW = 1 };

typedef struct {
    int mode;
    /* horizontal pass: output j reads pixel q[j-1] (weight wfirst[j]), the full pixels
     * q[j-1]+1 .. q[j]-1, and pixel q[j] (weight wlast[j]) */
    int xq[NT], xwlast[NT], xwfirst[NT], xnfull[NT], xstart[NT];
    int xrecip, xone, xmul;
    int16_t tile_of[W];
    /* vertical pass pattern (same shape over the 800 rows of the flipped frame) */
    int yq[NO], ywlast[NO], ywfirst[NO];
    int yrecip;
    /* tiles */
    uint32_t tile_color[NR][NT];
    uint8_t dirty[NR][NT];
    uint32_t pix[NR][W];
    /* horizontal-pass outputs of one-colour tiles, remembered per tile */
    uint32_t memo_first[NT], memo_color[NT], memo_out[NT];
    /* SDL_gfx keeps its polygon intersection buffer between calls; so do we */
    int polyints[64];
    /* the flipped frame after the horizontal pass: 800 rows x 96 pixels */
    uint32_t stack[H][NT];
} Raster;

/* ------------------------------------------------------------------------------------------ */
/* smooth-scale patterns                                                                       */

static void make_pattern(int src, int dst, int one, int *q, int *wlast, int *wfirst, int *nfull)
{
    int space = one * src / dst; /* as pygame: 0x4000 * srcwidth / dstwidth (or 0x10000 * ...) */
    int counter = space;
    int j = 0, x;
    for (j = 0; j < dst; j++) {
        nfull[j] = 0;
        wfirst[j] = 0;
    }
    j = 0;
    for (x = 0; x < src && j < dst; x++) {
        if (counter > one) {
            nfull[j]++;
            counter -= one;
        }
        else {
            q[j] = x;
            wlast[j] = counter;
            if (j + 1 < dst)
                wfirst[j + 1] = one - counter;
            j++;
            counter = space - (one - counter);
        }
    }
}

EXPORT void *raster_new(int mode)
{
    Raster *r = (Raster *)calloc(1, sizeof(Raster));
    int j, x, space;
    int ynfull[NO];
    if (!r)
        return NULL;
    r->mode = mode;
    if (mode == MODE_SSE) {
        r->xone = 0x4000;
        r->xmul = 4;
        space = 0x4000 * W / NT;
        r->xrecip = 0x40000000 / space;
        space = 0x4000 * H / NO;
        r->yrecip = 0x40000000 / space;
    }
    else {
        r->xone = 0x10000;
        r->xmul = 1;
        space = 0x10000 * W / NT;
        r->xrecip = (int)(0x100000000LL / space);
        space = 0x10000 * H / NO;
        r->yrecip = (int)(0x100000000LL / space);
    }
    make_pattern(W, NT, r->xone, r->xq, r->xwlast, r->xwfirst, r->xnfull);
    make_pattern(H, NO, r->xone, r->yq, r->ywlast, r->ywfirst, ynfull);
    for (x = 0; x < W; x++)
        r->tile_of[x] = -1;
    for (j = 0; j < NT; j++)
        r->memo_first[j] = 0xFFFFFFFFu; /* no pixel has a top byte: never matches */
    for (j = 0; j < NT; j++) {
        r->xstart[j] = j ? r->xq[j - 1] + 1 : 0;
        for (x = r->xstart[j]; x <= r->xq[j]; x++)
            r->tile_of[x] = (int16_t)j;
    }
    return r;
}

EXPORT void raster_free(void *p) { free(p); }

/* ------------------------------------------------------------------------------------------ */
/* tiles                                                                                       */

static inline void materialise(Raster *r, int row, int t)
{
    if (!r->dirty[row][t]) {
        uint32_t c = r->tile_color[row][t];
        uint32_t *p = r->pix[row];
        int x;
        for (x = r->xstart[t]; x <= r->xq[t]; x++)
            p[x] = c;
        r->dirty[row][t] = 1;
    }
}

static inline uint32_t get_px(Raster *r, int row, int x)
{
    int t = r->tile_of[x];
    return r->dirty[row][t] ? r->pix[row][x] : r->tile_color[row][t];
}

/* write one pixel (surface coordinates, already clipped to the surface) */
static inline void put_px(Raster *r, int y, int x, uint32_t c)
{
    int row = y - Y0, t;
    if (row < 0 || row >= NR)
        return;
    t = r->tile_of[x];
    if (t < 0)
        return;
    if (!r->dirty[row][t]) {
        if (r->tile_color[row][t] == c)
            return;
        materialise(r, row, t);
    }
    r->pix[row][x] = c;
}

/* write pixels x0..x1 of row y (surface coordinates, 0 <= x0 <= x1 < W) */
static void span(Raster *r, int y, int x0, int x1, uint32_t c)
{
    int row = y - Y0, t, ta, tb, x, lo, hi;
    if (row < 0 || row >= NR)
        return;
    if (x1 > r->xq[NT - 1])
        x1 = r->xq[NT - 1];
    if (x0 > x1)
        return;
    ta = r->tile_of[x0];
    tb = r->tile_of[x1];
    for (t = ta; t <= tb; t++) {
        lo = t == ta ? x0 : r->xstart[t];
        hi = t == tb ? x1 : r->xq[t];
        if (lo == r->xstart[t] && hi == r->xq[t]) {
            r->tile_color[row][t] = c;
            r->dirty[row][t] = 0;
            continue;
        }
        if (!r->dirty[row][t]) {
            if (r->tile_color[row][t] == c)
                continue;
            materialise(r, row, t);
        }
        for (x = lo; x <= hi; x++)
            r->pix[row][x] = c;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* SDL_gfx (pygame.gfxdraw), 32-bit surface, clip rectangle = whole surface                     */

/* _putPixelAlpha, DEFAULT_ALPHA_PIXEL_ROUTINE, 4 bytes per pixel, Amask = 0 */
static inline void gfx_put_alpha(Raster *r, int16_t x, int16_t y, uint32_t color, uint8_t alpha)
{
    if (x < 0 || x > W - 1 || y < 0 || y > H - 1)
        return;
    if (alpha == 255) {
        put_px(r, y, x, color);
    }
    else {
        int row = y - Y0;
        uint32_t dc, R, G, B;
        if (row < 0 || row >= NR || r->tile_of[x] < 0)
            return;
        dc = get_px(r, row, x);
        R = ((dc & RMASK) + (((((color & RMASK) - (dc & RMASK)) >> 16) * alpha >> 8) << 16)) & RMASK;
        G = ((dc & GMASK) + (((((color & GMASK) - (dc & GMASK)) >> 8) * alpha >> 8) << 8)) & GMASK;
        B = ((dc & BMASK) + (((((color & BMASK) - (dc & BMASK)) >> 0) * alpha >> 8) << 0)) & BMASK;
        put_px(r, y, x, R | G | B);
    }
}

/* pixelColorWeightNolock with an opaque colour */
static inline void gfx_put_weight(Raster *r, int16_t x, int16_t y, uint32_t color, uint32_t weight)
{
    uint32_t a = (255u * weight) >> 8;
    gfx_put_alpha(r, x, y, color, (uint8_t)a);
}

/* hlineColor, opaque */
static void gfx_hline(Raster *r, int16_t x1, int16_t x2, int16_t y, uint32_t color)
{
    int16_t tmp;
    if (x1 > x2) {
        tmp = x1;
        x1 = x2;
        x2 = tmp;
    }
    if (x2 < 0 || x1 > W - 1 || y < 0 || y > H - 1)
        return;
    if (x1 < 0)
        x1 = 0;
    if (x2 > W - 1)
        x2 = W - 1;
    span(r, y, x1, x2, color);
}

/* vlineColor, opaque */
static void gfx_vline(Raster *r, int16_t x, int16_t y1, int16_t y2, uint32_t color)
{
    int16_t tmp;
    int y;
    if (y1 > y2) {
        tmp = y1;
        y1 = y2;
        y2 = tmp;
    }
    if (x < 0 || x > W - 1)
        return;
    if (y2 < 0 || y1 > H - 1)
        return;
    if (y1 < 0)
        y1 = 0;
    if (y2 > H - 1)
        y2 = H - 1;
    for (y = y1; y <= y2; y++)
        put_px(r, y, x, color);
}

#define CLIP_LEFT_EDGE 0x1
#define CLIP_RIGHT_EDGE 0x2
#define CLIP_BOTTOM_EDGE 0x4
#define CLIP_TOP_EDGE 0x8

static int clip_encode(int16_t x, int16_t y, int16_t left, int16_t top, int16_t right, int16_t bottom)
{
    int code = 0;
    if (x < left)
        code |= CLIP_LEFT_EDGE;
    else if (x > right)
        code |= CLIP_RIGHT_EDGE;
    if (y < top)
        code |= CLIP_TOP_EDGE;
    else if (y > bottom)
        code |= CLIP_BOTTOM_EDGE;
    return code;
}

/* _clipLine */
static int clip_line(int16_t *x1, int16_t *y1, int16_t *x2, int16_t *y2)
{
    int16_t left = 0, right = W - 1, top = 0, bottom = H - 1;
    int code1, code2;
    int16_t swaptmp;
    float m;
    while (1) {
        code1 = clip_encode(*x1, *y1, left, top, right, bottom);
        code2 = clip_encode(*x2, *y2, left, top, right, bottom);
        if (!(code1 | code2))
            return 1;
        if (code1 & code2)
            return 0;
        if (!code1) {
            swaptmp = *x2;
            *x2 = *x1;
            *x1 = swaptmp;
            swaptmp = *y2;
            *y2 = *y1;
            *y1 = swaptmp;
            swaptmp = (int16_t)code2;
            code2 = code1;
            code1 = swaptmp;
        }
        if (*x2 != *x1)
            m = (float)(*y2 - *y1) / (float)(*x2 - *x1);
        else
            m = 1.0f;
        if (code1 & CLIP_LEFT_EDGE) {
            *y1 += (int16_t)((left - *x1) * m);
            *x1 = left;
        }
        else if (code1 & CLIP_RIGHT_EDGE) {
            *y1 += (int16_t)((right - *x1) * m);
            *x1 = right;
        }
        else if (code1 & CLIP_BOTTOM_EDGE) {
            if (*x2 != *x1)
                *x1 += (int16_t)((bottom - *y1) / m);
            *y1 = bottom;
        }
        else if (code1 & CLIP_TOP_EDGE) {
            if (*x2 != *x1)
                *x1 += (int16_t)((top - *y1) / m);
            *y1 = top;
        }
    }
}

/* _aalineColor(..., draw_endpoint = 0) with an opaque colour */
static void gfx_aaline(Raster *r, int16_t x1, int16_t y1, int16_t x2, int16_t y2, uint32_t color)
{
    int32_t xx0, yy0, xx1, yy1;
    uint32_t erracc, erradj, erracctmp, wgt;
    int dx, dy, tmp, xdir, y0p1, x0pxdir;

    if (!clip_line(&x1, &y1, &x2, &y2))
        return;
    xx0 = x1;
    yy0 = y1;
    xx1 = x2;
    yy1 = y2;
    if (yy0 > yy1) {
        tmp = yy0;
        yy0 = yy1;
        yy1 = tmp;
        tmp = xx0;
        xx0 = xx1;
        xx1 = tmp;
    }
    dx = xx1 - xx0;
    dy = yy1 - yy0;
    if (dx == 0) {
        if (dy > 0)
            gfx_vline(r, x1, (int16_t)yy0, (int16_t)(yy0 + dy), color);
        else
            gfx_put_alpha(r, x1, y1, color, 255);
        return;
    }
    else if (dy == 0) {
        if (dx != 0)
            gfx_hline(r, (int16_t)xx0, (int16_t)(xx0 + dx), y1, color);
        else
            gfx_put_alpha(r, x1, y1, color, 255);
        return;
    }
    if (dx >= 0) {
        xdir = 1;
    }
    else {
        xdir = -1;
        dx = -dx;
    }
    erracc = 0;
    gfx_put_alpha(r, x1, y1, color, 255);
    if (dy > dx) {
        erradj = ((uint32_t)((dx << 16) / dy)) << 16;
        x0pxdir = xx0 + xdir;
        while (--dy) {
            erracctmp = erracc;
            erracc += erradj;
            if (erracc <= erracctmp) {
                xx0 = x0pxdir;
                x0pxdir += xdir;
            }
            yy0++;
            wgt = (erracc >> 24) & 255;
            gfx_put_weight(r, (int16_t)xx0, (int16_t)yy0, color, 255 - wgt);
            gfx_put_weight(r, (int16_t)x0pxdir, (int16_t)yy0, color, wgt);
        }
    }
    else {
        erradj = ((uint32_t)((dy << 16) / dx)) << 16;
        y0p1 = yy0 + 1;
        while (--dx) {
            erracctmp = erracc;
            erracc += erradj;
            if (erracc <= erracctmp) {
                yy0 = y0p1;
                y0p1++;
            }
            xx0 += xdir;
            wgt = (erracc >> 24) & 255;
            gfx_put_weight(r, (int16_t)xx0, (int16_t)yy0, color, 255 - wgt);
            gfx_put_weight(r, (int16_t)xx0, (int16_t)y0p1, color, wgt);
        }
    }
}

/* aapolygonColor */
static void gfx_aapolygon(Raster *r, const int16_t *vx, const int16_t *vy, int n, uint32_t color)
{
    int i;
    for (i = 1; i < n; i++)
        gfx_aaline(r, vx[i - 1], vy[i - 1], vx[i], vy[i], color);
    gfx_aaline(r, vx[n - 1], vy[n - 1], vx[0], vy[0], color);
}

static void sort_ints(int *a, int n)
{
    int i, j, v;
    for (i = 1; i < n; i++) {
        v = a[i];
        for (j = i - 1; j >= 0 && a[j] > v; j--)
            a[j + 1] = a[j];
        a[j + 1] = v;
    }
}

/* filledPolygonColorMT, opaque; only rows that can be seen are scanned */
static void gfx_filled_polygon(Raster *r, const int16_t *vx, const int16_t *vy, int n, uint32_t color)
{
    int i, y, xa, xb, miny, maxy, x1, y1, x2, y2, ind1, ind2, ints, ylo, yhi;
    int *pi = r->polyints;
    miny = vy[0];
    maxy = vy[0];
    for (i = 1; i < n; i++) {
        if (vy[i] < miny)
            miny = vy[i];
        else if (vy[i] > maxy)
            maxy = vy[i];
    }
    ylo = miny < Y0 ? Y0 : miny;
    yhi = maxy > H - 1 ? H - 1 : maxy;
    for (y = ylo; y <= yhi; y++) {
        ints = 0;
        for (i = 0; i < n; i++) {
            if (!i) {
                ind1 = n - 1;
                ind2 = 0;
            }
            else {
                ind1 = i - 1;
                ind2 = i;
            }
            y1 = vy[ind1];
            y2 = vy[ind2];
            if (y1 < y2) {
                x1 = vx[ind1];
                x2 = vx[ind2];
            }
            else if (y1 > y2) {
                y2 = vy[ind1];
                y1 = vy[ind2];
                x2 = vx[ind1];
                x1 = vx[ind2];
            }
            else {
                continue;
            }
            if (((y >= y1) && (y < y2)) || ((y == maxy) && (y > y1) && (y <= y2)))
                pi[ints++] = ((65536 * (y - y1)) / (y2 - y1)) * (x2 - x1) + (65536 * x1);
        }
        sort_ints(pi, ints);
        for (i = 0; i < ints; i += 2) {
            xa = pi[i] + 1;
            xa = (xa >> 16) + ((xa & 32768) >> 15);
            xb = pi[i + 1] - 1;
            xb = (xb >> 16) + ((xb & 32768) >> 15);
            gfx_hline(r, (int16_t)xa, (int16_t)xb, (int16_t)y, color);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* pygame.draw.polygon (draw.c draw_fillpoly), clip rectangle = whole surface                   */

static void draw_hline(Raster *r, uint32_t color, int x1, int y1, int x2)
{
    int tmp;
    if (y1 < 0 || y1 >= H)
        return;
    if (x2 < x1) {
        tmp = x1;
        x1 = x2;
        x2 = tmp;
    }
    x1 = x1 > 0 ? x1 : 0;
    x2 = x2 < W - 1 ? x2 : W - 1;
    if (x2 < 0 || x1 >= W)
        return;
    span(r, y1, x1, x2, color);
}

static void draw_fillpoly(Raster *r, const int *px, const int *py, int n, uint32_t color)
{
    int i, i_previous, k, tmp;
    double y, miny, maxy, x1, y1, x2, y2;
    int xs[64];
    miny = py[0];
    maxy = py[0];
    for (i = 1; i < n; i++) {
        miny = miny < py[i] ? miny : py[i];
        maxy = maxy > py[i] ? maxy : py[i];
    }
    if (miny == maxy) {
        int minx = px[0], maxx = px[0];
        for (i = 1; i < n; i++) {
            minx = minx < px[i] ? minx : px[i];
            maxx = maxx > px[i] ? maxx : px[i];
        }
        draw_hline(r, color, minx, (int)miny, maxx);
        return;
    }
    for (y = miny; y <= maxy; y++) {
        int count = 0;
        for (i = 0; i < n; i++) {
            i_previous = i ? i - 1 : n - 1;
            y1 = py[i_previous];
            y2 = py[i];
            if (y1 < y2) {
                x1 = px[i_previous];
                x2 = px[i];
            }
            else if (y1 > y2) {
                y2 = py[i_previous];
                y1 = py[i];
                x2 = px[i_previous];
                x1 = px[i];
            }
            else {
                continue;
            }
            if (((y >= y1) && (y < y2)) || ((y == maxy) && (y2 == maxy)))
                xs[count++] = (int)((y - y1) * (x2 - x1) / (y2 - y1) + x1);
        }
        sort_ints(xs, count);
        for (k = 0; k + 1 < count; k += 2)
            draw_hline(r, color, xs[k], (int)y, xs[k + 1]);
    }
    for (i = 0; i < n; i++) {
        i_previous = i ? i - 1 : n - 1;
        tmp = py[i];
        if ((miny < tmp) && (py[i_previous] == tmp) && (tmp < maxy))
            draw_hline(r, color, px[i], tmp, px[i_previous]);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* smooth-scale passes                                                                         */

/* One output value of a shrink pass from its accumulated sum (first partial + full pixels) and
 * its last partial pixel `v` of weight `w`, as filter_shrink_X/Y do it per byte. */
static inline uint8_t shrink_out(int mode, unsigned acc, unsigned v, unsigned w, unsigned recip)
{
    if (mode == MODE_SSE) {
        unsigned t = (acc + ((4u * v * w) >> 16)) & 0xFFFFu; /* paddw */
        unsigned m = (t * recip) >> 16;                       /* pmulhuw */
        return (uint8_t)((m & 0x8000u) ? 0 : (m > 255 ? 255 : m)); /* packuswb */
    }
    return (uint8_t)((((acc & 0xFFFFu) + ((v * w) >> 16)) * recip) >> 16); /* Uint16 accumulator */
}

/* the partial first pixel of an output: (Uint16)((src * frac) >> 16), with src << 2 for SSE */
static inline unsigned shrink_first(int mode, unsigned v, unsigned w)
{
    return mode == MODE_SSE ? (4u * v * w) >> 16 : (v * w) >> 16;
}

#define B0(c) ((unsigned)((c) & 255u))
#define B1(c) ((unsigned)(((c) >> 8) & 255u))
#define B2(c) ((unsigned)(((c) >> 16) & 255u))

static inline uint32_t xout(int mode, const Raster *r, int j, uint32_t first, unsigned s0, unsigned s1,
                            unsigned s2, uint32_t last)
{
    unsigned wf = r->xwfirst[j], wl = r->xwlast[j], rc = (unsigned)r->xrecip;
    if (j) {
        s0 += shrink_first(mode, B0(first), wf);
        s1 += shrink_first(mode, B1(first), wf);
        s2 += shrink_first(mode, B2(first), wf);
    }
    return (uint32_t)shrink_out(mode, s0, B0(last), wl, rc) | ((uint32_t)shrink_out(mode, s1, B1(last), wl, rc) << 8) |
           ((uint32_t)shrink_out(mode, s2, B2(last), wl, rc) << 16);
}

/* horizontal pass of one tracked row; a one-colour tile whose first pixel has the same colours
 * as last time gives the same output, so that is remembered per tile */
static inline __attribute__((always_inline)) void xpass_row_mode(int mode, Raster *r, int row, uint32_t *dst)
{
    int j, x;
    const uint8_t *dirty = r->dirty[row];
    const uint32_t *tc = r->tile_color[row];
    const uint32_t *p = r->pix[row];
    for (j = 0; j < NT; j++) {
        uint32_t first = 0;
        if (j) {
            int q = r->xq[j - 1];
            first = dirty[j - 1] ? p[q] : tc[j - 1];
        }
        if (!dirty[j]) {
            uint32_t c = tc[j];
            unsigned n = (unsigned)r->xnfull[j];
            if (first == r->memo_first[j] && c == r->memo_color[j]) {
                dst[j] = r->memo_out[j];
                continue;
            }
            dst[j] = xout(mode, r, j, first, n * B0(c), n * B1(c), n * B2(c), c);
            r->memo_first[j] = first;
            r->memo_color[j] = c;
            r->memo_out[j] = dst[j];
        }
        else {
            unsigned s0 = 0, s1 = 0, s2 = 0;
            for (x = r->xstart[j]; x < r->xq[j]; x++) {
                s0 += B0(p[x]);
                s1 += B1(p[x]);
                s2 += B2(p[x]);
            }
            dst[j] = xout(mode, r, j, first, s0, s1, s2, p[r->xq[j]]);
        }
    }
}

static void xpass_row(Raster *r, int row, uint32_t *dst)
{
    if (r->mode == MODE_SSE)
        xpass_row_mode(MODE_SSE, r, row, dst);
    else
        xpass_row_mode(MODE_GENERIC, r, row, dst);
}

/* vertical pass over the 800 stack rows into a 96x96 RGB image; bytes of a pixel are B, G, R, 0 */
static inline __attribute__((always_inline)) void ypass_mode(int mode, Raster *r, uint8_t *rgb)
{
    int i, y, k, j;
    unsigned recip = (unsigned)r->yrecip;
    uint16_t acc[NT * 4];
    int yrow = 0;
    for (i = 0; i < NO; i++) {
        int ylast = r->yq[i];
        const uint8_t *s;
        if (i) {
            unsigned wf = (unsigned)r->ywfirst[i];
            s = (const uint8_t *)r->stack[r->yq[i - 1]];
            for (k = 0; k < NT * 4; k++)
                acc[k] = (uint16_t)shrink_first(mode, s[k], wf);
        }
        else {
            memset(acc, 0, sizeof(acc));
        }
        for (y = yrow; y < ylast; y++) {
            s = (const uint8_t *)r->stack[y];
            for (k = 0; k < NT * 4; k++)
                acc[k] = (uint16_t)(acc[k] + s[k]);
        }
        s = (const uint8_t *)r->stack[ylast];
        for (j = 0; j < NT; j++) {
            unsigned wl = (unsigned)r->ywlast[i];
            uint8_t *o = rgb + (i * NT + j) * 3;
            o[0] = shrink_out(mode, acc[j * 4 + 2], s[j * 4 + 2], wl, recip);
            o[1] = shrink_out(mode, acc[j * 4 + 1], s[j * 4 + 1], wl, recip);
            o[2] = shrink_out(mode, acc[j * 4 + 0], s[j * 4 + 0], wl, recip);
        }
        yrow = ylast + 1;
    }
}

static void ypass(Raster *r, uint8_t *rgb)
{
    if (r->mode == MODE_SSE)
        ypass_mode(MODE_SSE, r, rgb);
    else
        ypass_mode(MODE_GENERIC, r, rgb);
}

/* ------------------------------------------------------------------------------------------ */
/* one frame                                                                                   */

/*
 * bg:      background colour (the whole tracked area is filled with it first)
 * npolys:  number of polygons, drawn in order
 * counts:  vertices per polygon
 * xs, ys:  vertex coordinates as pygame converts them (gfx: truncated to Sint16; draw: truncated to int)
 * colors:  0x00RRGGBB per polygon, as mapped by pygame
 * kinds:   KIND_GFX (aapolygon then filled_polygon) or KIND_DRAW (draw.polygon, filled)
 * hud:     the HUD rows after their horizontal pass: 100 rows x 96 pixels (0x00RRGGBB, any top byte)
 * rgb:     out: the 96x96x3 observation
 * Returns 0, or -1 when a polygon has more than 64 vertices.
 */
EXPORT int raster_frame(void *p, uint32_t bg, int npolys, const int32_t *counts, const int32_t *xs,
                        const int32_t *ys, const uint32_t *colors, const uint8_t *kinds,
                        const uint32_t *hud, uint8_t *rgb)
{
    Raster *r = (Raster *)p;
    int i, row, j, off = 0;
    int16_t vx[64], vy[64];
    int ix[64], iy[64];
    for (row = 0; row < NR; row++) {
        for (j = 0; j < NT; j++)
            r->tile_color[row][j] = bg;
        memset(r->dirty[row], 0, NT);
    }
    for (i = 0; i < npolys; i++) {
        int n = counts[i], k;
        if (n > 64 || n < 3)
            return -1;
        if (kinds[i] == KIND_GFX) {
            for (k = 0; k < n; k++) {
                vx[k] = (int16_t)xs[off + k];
                vy[k] = (int16_t)ys[off + k];
            }
            gfx_aapolygon(r, vx, vy, n, colors[i]);
            gfx_filled_polygon(r, vx, vy, n, colors[i]);
        }
        else {
            for (k = 0; k < n; k++) {
                ix[k] = xs[off + k];
                iy[k] = ys[off + k];
            }
            draw_fillpoly(r, ix, iy, n, colors[i]);
        }
        off += n;
    }
    /* flip: stack row s holds surface row H-1-s */
    for (row = 0; row < NR; row++)
        xpass_row(r, row, r->stack[H - 1 - (row + Y0)]);
    memcpy(r->stack[NR], hud, sizeof(uint32_t) * NT * HUD_ROWS);
    ypass(r, rgb);
    return 0;
}

/* The tracked rows (surface rows 100..799, before the flip) as full pixels, 700 x 1000, for tests:
 * the state after the last raster_frame call. Pixels after the last tile (none at 1000 -> 96) are 0. */
EXPORT void raster_pixels(void *p, uint32_t *out)
{
    Raster *r = (Raster *)p;
    int row, x;
    for (row = 0; row < NR; row++)
        for (x = 0; x < W; x++)
            out[row * W + x] = r->tile_of[x] < 0 ? 0 : get_px(r, row, x);
}
