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
 * How the vector loop reads tokens: their size in bytes (1, 2, 4: widened to 32-bit lanes; 8:
 * compared in 64-bit lanes), or X_LO32: 64-bit tokens narrowed to their low halves and compared
 * in 32-bit lanes, one compare per id for CL_N32 tokens instead of two. That is exact while
 * every token fits int32 (then its low half equals an int32 id only if the token does), which
 * the loop checks on the side: (token + 2^31) has a zero high half exactly for int32 tokens, so
 * the OR of those sums over the run has one too. A run where it does not is redone in 64-bit
 * lanes. Backends whose 64-bit compares are as cheap (AVX-512 k-masks) leave CL_WEIGHTS_LO32
 * undefined.
 */
#define X_LO32 9

/*
 * One vector of weights, dst[i, i + CL_N32): nq pad-id compares and has_ign are constants at the
 * call sites below, so the compare loop unrolls and the unused parts vanish. The caller
 * guarantees that no pad id equals the ignore id, so the pad and ignore masks are disjoint (the
 * ignore id wins in the scalar reference). The counters count in 32-bit lanes.
 */
CL_INLINE void x_weights_step(const char *t, float *dst, size_t i, int mode, const vec *ids, int nq,
                              int has_ign, vec ign, vec wv, vec pv, vec *cpad, vec *cign,
                              vec *fit) {
  wm_t pad = wm_zero(), ig = wm_zero();
  if (mode == 8) {
    /* Compare in 64-bit lanes, narrow each mask once (possibly in a lane order of the ISA's
     * choosing: wm_store64 puts the weights back in order). */
    vec t0 = vload(t + 8 * i), t1 = vload(t + 8 * i + CL_VW);
    if (nq > 0) {
      wm64_t p0 = wm64_eq(t0, ids[0]), p1 = wm64_eq(t1, ids[0]);
      for (int q = 1; q < nq; q++) {
        p0 = wm64_or(p0, wm64_eq(t0, ids[q]));
        p1 = wm64_or(p1, wm64_eq(t1, ids[q]));
      }
      pad = wm_from64(p0, p1);
    }
    if (has_ign) ig = wm_from64(wm64_eq(t0, ign), wm64_eq(t1, ign));
  } else {
    vec tv;
    if (mode == X_LO32) {
      vec t0 = vload(t + 8 * i), t1 = vload(t + 8 * i + CL_VW);
      const vec bias = vset1_64((int64_t)1 << 31);
      *fit = vor(*fit, vor(vadd_es(t0, bias, 8), vadd_es(t1, bias, 8)));
      tv = vnarrow_64_32(t0, t1);
    } else {
      tv = x_tok32(t, i, (size_t)mode);
    }
    for (int q = 0; q < nq; q++)
      pad = wm_or(pad, wm_eq32(tv, ids[q]));
    if (has_ign) ig = wm_eq32(tv, ign);
  }
  vec w = nq > 0 ? wm_select(pad, wv, pv) : wv;
  if (has_ign) w = wm_clear(ig, w);
  if (mode == 8)
    wm_store64(dst + i, w);
  else
    vstore(dst + i, w);
  if (nq > 0) *cpad = wm_count(*cpad, pad);
  if (has_ign) *cign = wm_count(*cign, ig);
}

/*
 * The vector part of one run: tokens [0, nv) in whole vectors, i.e. up to nv rounded down, two
 * vectors per iteration while possible. The per-lane 32-bit counters are flushed before they
 * could wrap. Returns the number of tokens done; for X_LO32, *fits says whether they all fit
 * int32 (else the caller redoes them).
 */
CL_INLINE size_t x_weights_vec(const char *t, float *dst, size_t nv, int mode, const vec *ids,
                               int nq, int has_ign, vec ign, vec wv, vec pv, uint64_t *n_pad,
                               uint64_t *n_ign, int *fits) {
  size_t i = 0;
  vec fit = vzero();
  while (i + CL_N32 <= nv) {
    size_t block_end = nv - i > ((size_t)1 << 24) * CL_N32 ? i + ((size_t)1 << 24) * CL_N32 : nv;
    vec cpad = vzero(), cign = vzero(), cpad2 = vzero(), cign2 = vzero();
    for (; i + 2 * CL_N32 <= block_end; i += 2 * CL_N32) {
      x_weights_step(t, dst, i, mode, ids, nq, has_ign, ign, wv, pv, &cpad, &cign, &fit);
      x_weights_step(t, dst, i + CL_N32, mode, ids, nq, has_ign, ign, wv, pv, &cpad2, &cign2, &fit);
    }
    if (i + CL_N32 <= block_end) {
      x_weights_step(t, dst, i, mode, ids, nq, has_ign, ign, wv, pv, &cpad, &cign, &fit);
      i += CL_N32;
    }
    if (nq > 0) *n_pad += vsum32(vadd_es(cpad, cpad2, 4));
    if (has_ign) *n_ign += vsum32(vadd_es(cign, cign2, 4));
  }
  if (mode == X_LO32) *fits = vtestz(fit, vset1_64((int64_t)0xffffffff00000000u));
  return i;
}

/* x_weights_vec with nq (padded to 0, 1, 2, 4 or nids: a repeated id changes nothing) and
 * has_ign as constants. */
CL_INLINE size_t x_weights_run(const char *t, float *dst, size_t nv, int mode, vec *ids, int nids,
                               int has_ign, vec ign, vec wv, vec pv, uint64_t *n_pad,
                               uint64_t *n_ign, int *fits) {
  int nq = nids <= 2 ? nids : nids <= 4 ? 4 : nids;
  for (int q = nids; q < nq; q++)
    ids[q] = ids[0];
#define X_WRUN(NQ)                                                                                 \
  (has_ign ? x_weights_vec(t, dst, nv, mode, ids, NQ, 1, ign, wv, pv, n_pad, n_ign, fits)          \
           : x_weights_vec(t, dst, nv, mode, ids, NQ, 0, ign, wv, pv, n_pad, n_ign, fits))
  switch (nq) {
  case 0:
    return X_WRUN(0);
  case 1:
    return X_WRUN(1);
  case 2:
    return X_WRUN(2);
  case 4:
    return X_WRUN(4);
  default:
    return X_WRUN(nq);
  }
#undef X_WRUN
}

CL_INLINE double x_weights_body(const cl_weights_args *a, size_t es) {
  const char *t = (const char *)a->tokens;
  const int32_t dt = a->tok_dtype;
  float *dst = a->dst;
  const size_t nv = a->n_valid < a->n ? a->n_valid : a->n;
  const int has_ign = a->use_ignore_id && x_id_fits(a->ignore_id, dt);
  float wf = a->weight, pf = a->pad_weight;
  int32_t wbits, pbits;
  memcpy(&wbits, &wf, 4);
  memcpy(&pbits, &pf, 4);
  /*
   * Equal weights (bit for bit, finite) and fewer than 2^29 tokens: pads need neither a compare
   * nor a count. n_plain * w + n_pad * w == (n_plain + n_pad) * w exactly in double: each
   * product of an integer below 2^29 and a 24-bit float significand fits 53 bits, and so does
   * their sum, so the scalar reference's additions round nothing (signed zeros agree too).
   */
  const int same_w = wbits == pbits && (wbits & 0x7f800000) != 0x7f800000 && nv < ((size_t)1 << 29);
  /* The pad ids that can match: they fit the dtype, are not the ignore id (which wins) and are
   * not repeated. */
  int64_t sid[16];
  int nids = 0, all32 = !has_ign || x_id_fits(a->ignore_id, CODELAY_I32);
  if (!same_w)
    for (int q = 0; q < a->n_pad_ids; q++) {
      int64_t id = a->pad_ids[q];
      int keep = x_id_fits(id, dt) && !(has_ign && id == a->ignore_id);
      for (int r = 0; r < nids && keep; r++)
        keep = sid[r] != id;
      if (keep) {
        sid[nids++] = id;
        all32 &= x_id_fits(id, CODELAY_I32);
      }
    }
  const vec wv = vset1_32(wbits), pv = vset1_32(pbits);
  vec ids[16];
  uint64_t n_pad = 0, n_ign = 0;
  size_t i = 0;
  int fits = 0;
#if defined(CL_WEIGHTS_LO32)
  /* 64-bit lanes take 2 compares and an OR per id, a narrowing per mask and a final permute;
   * 32-bit lanes take one compare per id, the narrowing of the tokens and a 4-operation fit
   * check: the latter wins from 3 ids (the ignore id counting as one). */
  if (es == 8 && nids + has_ign >= 3 && all32) {
    for (int q = 0; q < nids; q++)
      ids[q] = vset1_32((int32_t)sid[q]);
    i = x_weights_run(t, dst, nv, X_LO32, ids, nids, has_ign, vset1_32((int32_t)a->ignore_id), wv,
                      pv, &n_pad, &n_ign, &fits);
    if (!fits) n_pad = n_ign = 0;
  }
#else
  (void)all32;
#endif
  if (!fits) {
    for (int q = 0; q < nids; q++)
      ids[q] = es == 8 ? vset1_64(sid[q]) : vset1_32((int32_t)sid[q]);
    const vec ign = es == 8 ? vset1_64(a->ignore_id) : vset1_32((int32_t)a->ignore_id);
    i = x_weights_run(t, dst, nv, (int)es, ids, nids, has_ign, ign, wv, pv, &n_pad, &n_ign, &fits);
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
  /* Outside the data: zero weights (usually a few delayed steps: no call for those). */
  if (a->n - nv < 8) {
    for (size_t j = nv; j < a->n; j++)
      dst[j] = 0.0f;
  } else {
    float zero = 0.0f;
    x_fill(dst + nv, &zero, a->n - nv, 4);
  }
  if (same_w) return (double)(nv - n_ign) * (double)wf;
  uint64_t n_plain = (uint64_t)nv - n_ign - n_pad;
  return (double)n_plain * (double)a->weight + (double)n_pad * (double)a->pad_weight;
}

static double x_weights(const cl_weights_args *a) {
  switch (cl_dtype_size(a->tok_dtype)) {
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
