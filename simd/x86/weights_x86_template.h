/*
 * Loss weights, part of the x86 template (included by kernels_x86_template.h, which documents the
 * ISA primitives: wm_t, wm_*, vsum32, wm64_t, wm64_*, wm_from64, wm_store64).
 */
#ifndef CL_VW
#error "include kernels_x86_template.h instead"
#endif

/* ------------------------------------------------------------------------------------------ */
/* loss weights                                                                                */
/* ------------------------------------------------------------------------------------------ */

/* Does id fit the token dtype (else it can never match and is dropped)? */
CL_INLINE int x_id_fits(int64_t id, int32_t dt) {
  switch (dt) {
  case CODELAY_U8:
    return id >= 0 && id <= 255;
  case CODELAY_I16:
    return id >= INT16_MIN && id <= INT16_MAX;
  case CODELAY_I32:
    return id >= INT32_MIN && id <= INT32_MAX;
  default:
    return 1;
  }
}

CL_INLINE int64_t x_tok_at(const char *t, size_t i, int32_t dt) {
  switch (dt) {
  case CODELAY_U8:
    return ((const uint8_t *)t)[i];
  case CODELAY_I16: {
    int16_t v;
    memcpy(&v, t + 2 * i, 2);
    return v;
  }
  case CODELAY_I32: {
    int32_t v;
    memcpy(&v, t + 4 * i, 4);
    return v;
  }
  default: {
    int64_t v;
    memcpy(&v, t + 8 * i, 8);
    return v;
  }
  }
}

/* Tokens i..i+CL_N32 as 32-bit lanes (es <= 4): u8 zero-extended, i16 sign-extended. */
CL_INLINE vec x_tok32(const char *t, size_t i, size_t es) {
  switch (es) {
  case 1:
    return vwiden(t + i, CODELAY_U8, CODELAY_I32);
  case 2:
    return vwiden(t + 2 * i, CODELAY_I16, CODELAY_I32);
  default:
    return vload(t + 4 * i);
  }
}

/*
 * The vector part of one run: tokens [0, nv) in whole vectors, i.e. up to nv rounded down. nq
 * pad-id compares per vector (a constant at the call sites below, so the compare loop unrolls).
 * Masks are over CL_N32 lanes (one f32 weight each); the per-lane 32-bit counters are flushed
 * before they could wrap.
 */
CL_INLINE size_t x_weights_vec(const char *t, float *dst, size_t nv, size_t es, const vec *ids,
                               int nq, int has_ign, vec ign, vec wv, vec pv, uint64_t *n_pad,
                               uint64_t *n_ign) {
  size_t i = 0;
  while (i + CL_N32 <= nv) {
    size_t block_end = nv - i > ((size_t)1 << 24) * CL_N32 ? i + ((size_t)1 << 24) * CL_N32 : nv;
    vec cpad = vzero(), cign = vzero();
    for (; i + CL_N32 <= block_end; i += CL_N32) {
      wm_t pad = wm_zero(), ig = wm_zero();
      if (es == 8) {
        /* Compare in 64-bit lanes, narrow each mask once (possibly in a lane order of the ISA's
         * choosing: wm_store64 puts the weights back in order). */
        vec t0 = vload(t + 8 * i), t1 = vload(t + 8 * i + CL_VW);
        wm64_t p0 = wm64_zero(), p1 = wm64_zero();
        for (int q = 0; q < nq; q++) {
          p0 = wm64_or(p0, wm64_eq(t0, ids[q]));
          p1 = wm64_or(p1, wm64_eq(t1, ids[q]));
        }
        pad = wm_from64(p0, p1);
        if (has_ign) ig = wm_from64(wm64_eq(t0, ign), wm64_eq(t1, ign));
      } else {
        vec tv = x_tok32(t, i, es);
        for (int q = 0; q < nq; q++)
          pad = wm_or(pad, wm_eq32(tv, ids[q]));
        if (has_ign) ig = wm_eq32(tv, ign);
      }
      pad = wm_andnot(ig, pad);
      vec w = wm_clear(ig, wm_select(pad, wv, pv));
      if (es == 8)
        wm_store64(dst + i, w);
      else
        vstore(dst + i, w);
      cpad = wm_count(cpad, pad);
      cign = wm_count(cign, ig);
    }
    *n_pad += vsum32(cpad);
    *n_ign += vsum32(cign);
  }
  return i;
}

CL_INLINE double x_weights_body(const cl_weights_args *a, size_t es) {
  const char *t = (const char *)a->tokens;
  const int32_t dt = a->tok_dtype;
  float *dst = a->dst;
  const size_t nv = a->n_valid < a->n ? a->n_valid : a->n;
  vec ids[16];
  int64_t sid[16];
  int nids = 0;
  for (int q = 0; q < a->n_pad_ids; q++)
    if (x_id_fits(a->pad_ids[q], dt)) {
      sid[nids] = a->pad_ids[q];
      ids[nids++] = es == 8 ? vset1_64(a->pad_ids[q]) : vset1_32((int32_t)a->pad_ids[q]);
    }
  const int has_ign = a->use_ignore_id && x_id_fits(a->ignore_id, dt);
  const vec ign = es == 8 ? vset1_64(a->ignore_id) : vset1_32((int32_t)a->ignore_id);
  float wf = a->weight, pf = a->pad_weight;
  int32_t wbits, pbits;
  memcpy(&wbits, &wf, 4);
  memcpy(&pbits, &pf, 4);
  const vec wv = vset1_32(wbits), pv = vset1_32(pbits);

  uint64_t n_pad = 0, n_ign = 0;
  size_t i;
  /* A repeated id changes nothing, so short lists are padded to 2 or 4 compares. */
  if (nids == 0) {
    i = x_weights_vec(t, dst, nv, es, ids, 0, has_ign, ign, wv, pv, &n_pad, &n_ign);
  } else if (nids <= 2) {
    ids[1] = ids[nids - 1];
    i = x_weights_vec(t, dst, nv, es, ids, 2, has_ign, ign, wv, pv, &n_pad, &n_ign);
  } else if (nids <= 4) {
    for (int q = nids; q < 4; q++)
      ids[q] = ids[0];
    i = x_weights_vec(t, dst, nv, es, ids, 4, has_ign, ign, wv, pv, &n_pad, &n_ign);
  } else {
    i = x_weights_vec(t, dst, nv, es, ids, nids, has_ign, ign, wv, pv, &n_pad, &n_ign);
  }
  for (; i < nv; i++) {
    int64_t v = x_tok_at(t, i, dt);
    if (has_ign && v == a->ignore_id) {
      dst[i] = 0.0f;
      n_ign++;
      continue;
    }
    int is_pad = 0;
    for (int q = 0; q < nids; q++)
      is_pad |= v == sid[q];
    dst[i] = is_pad ? pf : wf;
    n_pad += (uint64_t)is_pad;
  }
  /* Outside the data: zero weights. */
  if (a->n > nv) {
    float zero = 0.0f;
    x_fill(dst + nv, &zero, a->n - nv, 4);
  }
  uint64_t n_plain = (uint64_t)nv - n_ign - n_pad;
  return (double)n_plain * (double)a->weight + (double)n_pad * (double)a->pad_weight;
}

static double x_weights(const cl_weights_args *a) {
  switch (x_esize(a->tok_dtype)) {
  case 1:
    return x_weights_body(a, 1);
  case 2:
    return x_weights_body(a, 2);
  case 4:
    return x_weights_body(a, 4);
  case 8:
    return x_weights_body(a, 8);
  default:
    return cl_scalar_weights(a);
  }
}
