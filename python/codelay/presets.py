"""The delay conventions of public systems, by name (SPEC section 2).

Each preset reproduces its system's output exactly (checked on the golden vectors):

    moshi(n_q=8)          Moshi / moshi-finetune: training targets, model input, logits undelay,
                          fine-tuning loss weights, tts._delayed's extended form
    dsm(n_q=32), hibiki   Kyutai DSM TTS/STT and Hibiki (acoustic delay 2, K = 33)
    audiocraft(n_q=4)     audiocraft's DelayedPatternProvider: build / revert / revert logits
    musicgen(), parler()  transformers MusicGen / Parler-TTS build_delay_pattern_mask
    zonos(n_q=9)          Zonos apply_delay_pattern / revert_delay_pattern
    dia()                 Dia apply_audio_delay / revert_audio_delay (time-major [B, T, C])

    get("moshi", n_q=8) is the same as moshi(n_q=8); NAMES lists the names.

Token arrays are [B, K, T] (or [K, T]) unless a preset says otherwise (Dia is [B, T, C]);
logits are [B, K, T, card].
"""

import numpy as np

from . import _core
from ._core import delay, undelay, loss_weights, pattern, Stream
from ._errors import ShapeError, ArgError

NAN = float("nan")


def _streams_of(x, tk=False):
    shape = tuple(x.shape)
    if len(shape) == 2:
        return shape[0] if not tk else shape[1]
    return shape[2] if tk else shape[1]


def _steps_of(x, tk=False):
    shape = tuple(x.shape)
    if len(shape) == 2:
        return shape[1] if not tk else shape[0]
    return shape[1] if tk else shape[2]


def _slice_streams(x, start, stop):
    """x[..., start:stop, :] along the stream axis of a [B,K,T(,V)] or [K,T] array (a view)."""
    if len(tuple(x.shape)) == 2:
        return x[start:stop]
    return x[:, start:stop]


def _slice_steps(x, stop):
    if len(tuple(x.shape)) == 2:
        return x[:, :stop]
    return x[:, :, :stop]


class Moshi:
    """Moshi's delays: a text stream then audio codebooks in groups (one group per audio
    stream: Moshi's own voice, then the user's), delay 0 on the first (semantic) codebook of a
    group and `acoustic_delay` on the others.

    moshi(n_q=8): K = 9, delays [0, 0, 1 x 7] (moshi-finetune's text + 8 codebooks);
    moshi(n_q=16): K = 17, delays [0, 0, 1 x 7, 0, 1 x 7] (moshiko / moshika);
    delays=[...] overrides everything (e.g. the test model [0, 1, 2, 4]).
    The initial token (head and tail fill) is text_card for text, card for audio.
    """

    name = "moshi"

    def __init__(self, n_q=8, text_card=32000, card=2048, acoustic_delay=1,
                 codebooks_per_stream=8, dep_q=None, delays=None, text_padding_id=3,
                 end_of_text_padding_id=0):
        if delays is None:
            if n_q < 1:
                raise ArgError("n_q: must be >= 1", arg="n_q")
            g = min(codebooks_per_stream, n_q)
            if n_q % g:
                raise ArgError("n_q: %d is not a multiple of codebooks_per_stream=%d"
                               % (n_q, g), arg="n_q")
            delays = [0] + ([0] + [acoustic_delay] * (g - 1)) * (n_q // g)
        self.delays = [int(d) for d in delays]
        self.streams = len(self.delays)
        self.n_q = self.streams - 1
        self.dep_q = min(dep_q if dep_q is not None else codebooks_per_stream, self.n_q)
        self.text_card = text_card
        self.card = card
        self.initial = (text_card,) + (card,) * self.n_q
        self._p0 = pattern(self.delays, 0)  # cached Pattern objects: no per-call lookup
        self._p1 = pattern(self.delays, 1)
        self.text_padding_id = text_padding_id
        self.end_of_text_padding_id = end_of_text_padding_id
        self.max_delay = max(self.delays)

    def __repr__(self):
        return "codelay.presets.%s(delays=%s)" % (self.name, self.delays)

    # -- sequences ---------------------------------------------------------------------------
    def delay(self, codes, out=None, lengths=None, layout="kt"):
        """Training targets, lm_utils._delay_sequence: lead 0, S = T, initial token both ends."""
        return delay(codes, self._p0, 0, None, self.initial, None, lengths, layout, out)

    def model_input(self, codes, out=None, lengths=None, layout="kt"):
        """The model's input, cat(initial, delayed)[..., :-1]: lead 1, S = T."""
        return delay(codes, self._p1, 1, None, self.initial, None, lengths, layout, out)

    def extended(self, codes, head=None, tail=None, out=None, layout="kt"):
        """tts._delayed's form: S = T + max delay, per-stream head and tail (default: initial
        token at the head, the text padding id / audio card at the tail)."""
        if head is None:
            head = self.initial
        if tail is None:
            tail = (self.text_padding_id,) + (self.card,) * self.n_q
        return delay(codes, self._p0, 0, _steps_of(codes, layout == "tk") + self.max_delay,
                     head, tail, None, layout, out)

    def undelay(self, x, fill=0, out=None, lengths=None, layout="kt"):
        """lm_utils._undelay_sequence over all K streams: returns (values, mask)."""
        return undelay(x, self._p0, 0, None, fill, lengths, layout, out)

    def _logit_delays(self, K, streams):
        if streams is None:
            if K == self.dep_q:
                streams = "audio"
            elif K == 1:
                streams = "text"
            elif K == self.streams:
                streams = "all"
            else:
                raise ShapeError("logits: %d streams is neither text (1), audio (dep_q=%d) nor "
                                 "all (%d); pass streams=" % (K, self.dep_q, self.streams),
                                 arg="logits")
        if streams == "audio":
            return self.delays[1:1 + self.dep_q]
        if streams == "text":
            return self.delays[:1]
        if streams == "all":
            return self.delays
        if isinstance(streams, slice):
            return self.delays[streams]
        raise ArgError("streams: %r is not 'audio', 'text', 'all' or a slice" % (streams,),
                       arg="streams")

    def undelay_logits(self, logits, streams=None, out=None):
        """Logits [B, K, T, card] -> (values with NaN where t + d >= T, mask), as Moshi's
        _undelay_sequence on the audio (K = dep_q) or text (K = 1) logits."""
        d = self._logit_delays(_streams_of(logits), streams)
        return undelay(logits, d, 0, None, NAN, None, "kt", out)

    # -- fine-tuning -------------------------------------------------------------------------
    def loss_weights(self, codes, text_padding_weight=0.5, first_codebook_weight_multiplier=100.0,
                     ignore_id=-1, lengths=None, out=None):
        """moshi-finetune's loss weights over text + the model's dep_q codebooks of aligned codes
        [B, K, T]: PAD and EPAD text tokens weigh text_padding_weight, the first audio codebook
        first_codebook_weight_multiplier, ignore_id 0, positions past T - d[k] 0.
        Streams beyond 1 + dep_q (the user's audio) are not part of the loss and are ignored.
        Returns (weights [B, 1+dep_q, T] float32, sums [1+dep_q] float64)."""
        K = 1 + self.dep_q
        if _streams_of(codes) > K:
            codes = _slice_streams(codes, 0, K)
        sw = [1.0] * K
        if K > 1:
            sw[1] = float(first_codebook_weight_multiplier)
        pw = [float(text_padding_weight)] + [1.0] * (K - 1)
        return loss_weights(codes, self.delays[:K], 0, None, lengths, sw,
                            (self.text_padding_id, self.end_of_text_padding_id), pw, ignore_id,
                            "kt", out)

    # -- inference ---------------------------------------------------------------------------
    def stream(self, mode="delay", batch=1, dtype=np.int64, fill=None):
        """A Stream with this pattern (lead 0), fill = the initial tokens by default."""
        return Stream(self.delays, 0, mode, dtype, batch, self.initial if fill is None else fill)


def moshi(n_q=8, **kw):
    """Moshi (see Moshi): moshi(n_q=8).delay(codes)."""
    return Moshi(n_q=n_q, **kw)


class DSM(Moshi):
    """Kyutai DSM TTS / STT and Hibiki: text + 2 x 16 codebooks, acoustic delay 2 (K = 33)."""

    name = "dsm"


def dsm(n_q=32, text_card=48000, card=2048, acoustic_delay=2, codebooks_per_stream=16, **kw):
    return DSM(n_q=n_q, text_card=text_card, card=card, acoustic_delay=acoustic_delay,
               codebooks_per_stream=codebooks_per_stream, **kw)


def hibiki(**kw):
    """Hibiki uses the DSM layout (K = 33, delays [0, 0, 2 x 15, 0, 2 x 15])."""
    p = dsm(**kw)
    p.name = "hibiki"
    return p


class Audiocraft:
    """audiocraft's DelayedPatternProvider (MusicGen training): pattern step 0 is empty, so
    lead 1; build gives S = T + max delay + 1 (or T + 1 with keep_only_valid_steps)."""

    name = "audiocraft"

    def __init__(self, n_q=4, delays=None, special_token=2048):
        self.delays = list(range(n_q)) if delays is None else [int(d) for d in delays]
        if any(b < a for a, b in zip(self.delays, self.delays[1:])):
            raise ArgError("delays: audiocraft delays must be sorted", arg="delays")
        self.streams = len(self.delays)
        self.max_delay = max(self.delays)
        self.special_token = special_token

    def __repr__(self):
        return "codelay.presets.audiocraft(delays=%s)" % self.delays

    def build(self, codes, keep_only_valid_steps=False, special_token=None, out=None):
        """build_pattern_sequence: [B, K, T] -> (values [B, K, S], mask [B, K, S]), the mask
        True on the cells that hold data (audiocraft also returns the gather indexes)."""
        T = _steps_of(codes)
        S = T + 1 if keep_only_valid_steps else T + self.max_delay + 1
        sp = self.special_token if special_token is None else special_token
        values = delay(codes, self.delays, 1, S, sp, None, None, "kt", out)
        shape = tuple(codes.shape)
        r = _core.regions(self.delays, 1, aligned_steps=T, steps=S,
                          batch=shape[0] if len(shape) == 3 else None)
        mask = r == 1
        if _core._is_torch(values):
            mask = _core._torch_mod().from_numpy(mask)
        return values, mask

    def _aligned_steps(self, S, keep_only_valid_steps):
        T = S - 1 if keep_only_valid_steps else S - self.max_delay - 1
        if T < 0:
            raise ShapeError("sequence: %d steps is too short for delays %s"
                             % (S, self.delays), arg="sequence")
        return T

    def revert(self, sequence, keep_only_valid_steps=False, special_token=None, out=None):
        """revert_pattern_sequence: [B, K, S] -> (values [B, K, T], mask)."""
        T = self._aligned_steps(_steps_of(sequence), keep_only_valid_steps)
        sp = self.special_token if special_token is None else special_token
        return undelay(sequence, self.delays, 1, T, sp, None, "kt", out)

    def revert_logits(self, logits, keep_only_valid_steps=False, special_token=NAN, out=None):
        """revert_pattern_logits on the model's logits [B, K, S, card] (audiocraft's tensor
        permuted to card-last, as LMModel.compute_predictions has it): the output at step s
        predicts step s + 1, so lead 0 on logits[:, :, :S-1]. Returns (values [B, K, T, card]
        with NaN outside the data, mask)."""
        S = _steps_of(logits)
        T = self._aligned_steps(S, keep_only_valid_steps)
        return undelay(_slice_steps(logits, max(S - 1, 0)), self.delays, 0, T, special_token,
                       None, "kt", out)


def audiocraft(n_q=4, **kw):
    return Audiocraft(n_q=n_q, **kw)


class Parler:
    """transformers' MusicGen / Parler-TTS build_delay_pattern_mask: codebook k is shifted by k
    after a BOS column; BOS before, PAD after, -1 where tokens are still to be generated.
    audio_channels=2 is MusicGen's stereo layout: interleaved left/right codebooks, codebook
    pair j shifted by j (transformers' code path; the golden vectors cover mono)."""

    name = "parler"

    def __init__(self, num_codebooks=9, bos_token_id=1025, pad_token_id=1024, audio_channels=1):
        self.streams = int(num_codebooks)
        self.channels = int(audio_channels)
        if self.channels not in (1, 2) or self.streams % self.channels:
            raise ArgError("audio_channels: 1, or 2 with an even num_codebooks",
                           arg="audio_channels")
        self.channel_codebooks = self.streams // self.channels
        self.delays = [k // self.channels for k in range(self.streams)]
        self.bos_token_id = bos_token_id
        self.pad_token_id = pad_token_id

    def __repr__(self):
        return "codelay.presets.%s(num_codebooks=%d)" % (self.name, self.streams)

    def delay(self, x, max_length=None, out=None):
        """The core shift: x = prompt[:, :, 1:] padded with -1 to max_length - K steps ->
        [B, K, max_length] (lead 1, BOS head, PAD tail). max_length defaults to T + K."""
        T = _steps_of(x)
        M = T + self.channel_codebooks if max_length is None else int(max_length)
        return delay(x, self.delays, 1, M, self.bos_token_id, self.pad_token_id, None, "kt", out)

    def build_delay_pattern_mask(self, input_ids, max_length):
        """input_ids [B, K, L] (a prompt; [B*K, L] is accepted too) -> (input_ids [B, K, L'],
        pattern_mask [B, K, max_length]) exactly as transformers does (which returns them
        flattened to [B*K, ...]: reshape if you need that)."""
        a = input_ids
        torch_in = _core._is_torch(a)
        if torch_in:
            a = a.detach().cpu().numpy()
        a = np.asarray(a)
        K = self.streams
        if a.ndim == 2:
            if a.shape[0] % K:
                raise ShapeError("input_ids: %d rows is not a multiple of %d codebooks"
                                 % (a.shape[0], K), arg="input_ids")
            a = a.reshape(a.shape[0] // K, K, a.shape[1])
        if a.ndim != 3 or a.shape[1] != K:
            raise ShapeError("input_ids: expected [B, %d, L], got %s" % (K, a.shape),
                             arg="input_ids")
        B, _, L = a.shape
        M = int(max_length)
        Kc = self.channel_codebooks
        if M < 2 * Kc - 1:  # transformers returns the input and an all -1 mask
            mask = np.full((B, K, M), -1, dtype=a.dtype)
            return (_back(a, torch_in), _back(mask, torch_in))
        if L + Kc - 1 > M:
            raise ShapeError("input_ids: %d steps do not fit max_length %d" % (L, M),
                             arg="input_ids")
        x = np.full((B, K, M - Kc), -1, dtype=a.dtype)
        x[:, :, : max(L - 1, 0)] = a[:, :, 1:]
        mask = self.delay(x, M)
        first = mask[:, 0, :]
        starts = np.nonzero(first == -1)[1]
        start = int(starts.min()) if starts.size else L
        return (_back(np.ascontiguousarray(mask[..., :start]), torch_in), _back(mask, torch_in))


def _back(a, torch_in):
    if torch_in:
        return _core._torch_mod().from_numpy(a)
    return a


def parler(num_codebooks=9, bos_token_id=1025, pad_token_id=1024):
    return Parler(num_codebooks, bos_token_id, pad_token_id)


def musicgen(num_codebooks=4, pad_token_id=2048, audio_channels=1):
    """transformers' MusicGen: the same pattern with the pad token at both ends (stereo:
    audio_channels=2, num_codebooks counts both channels)."""
    p = Parler(num_codebooks, pad_token_id, pad_token_id, audio_channels)
    p.name = "musicgen"
    return p


class Zonos:
    """Zonos codebook_pattern: pad T with K mask tokens, roll codebook k by k + 1."""

    name = "zonos"

    def __init__(self, n_q=9, mask_token=1025):
        self.streams = int(n_q)
        self.delays = list(range(self.streams))
        self.mask_token = mask_token

    def __repr__(self):
        return "codelay.presets.zonos(n_q=%d)" % self.streams

    def apply(self, codes, mask_token=None, out=None):
        """apply_delay_pattern: [B, K, T] -> [B, K, T + K]."""
        m = self.mask_token if mask_token is None else mask_token
        return delay(codes, self.delays, 1, _steps_of(codes) + self.streams, m, None, None, "kt",
                     out)

    delay = apply

    def revert(self, codes, out=None):
        """revert_delay_pattern: [B, K, S] -> [B, K, S - K] (every value is data)."""
        S = _steps_of(codes)
        if S < self.streams:
            raise ShapeError("codes: %d steps, fewer than %d codebooks" % (S, self.streams),
                             arg="codes")
        return undelay(codes, self.delays, 1, S - self.streams, 0, None, "kt", out, mask=False)[0]


def zonos(n_q=9, mask_token=1025):
    return Zonos(n_q, mask_token)


class Dia:
    """Dia's audio delay on time-major [B, T, C] codes (lead 0, S = T): BOS before the data,
    PAD after; revert fills PAD where t + d >= T."""

    name = "dia"

    def __init__(self, delays=(0, 8, 9, 10, 11, 12, 13, 14, 15), bos_value=1026, pad_value=1025):
        self.delays = [int(d) for d in delays]
        self.streams = len(self.delays)
        self.bos_value = bos_value
        self.pad_value = pad_value

    def __repr__(self):
        return "codelay.presets.dia(delays=%s)" % self.delays

    def apply(self, audio, out=None):
        """apply_audio_delay: [B, T, C] -> [B, T, C]."""
        return delay(audio, self.delays, 0, None, self.bos_value, self.pad_value, None, "tk", out)

    delay = apply

    def revert(self, audio, out=None):
        """revert_audio_delay: [B, T, C] -> [B, T, C] (PAD past the data)."""
        return undelay(audio, self.delays, 0, None, self.pad_value, None, "tk", out,
                       mask=False)[0]

    def stream(self, mode="delay", batch=1, dtype=np.int32):
        return Stream(self.delays, 0, mode, dtype, batch,
                      self.bos_value if mode == "delay" else self.pad_value)


def dia(delays=(0, 8, 9, 10, 11, 12, 13, 14, 15), bos_value=1026, pad_value=1025):
    return Dia(delays, bos_value, pad_value)


_REGISTRY = {
    "moshi": moshi,
    "dsm": dsm,
    "hibiki": hibiki,
    "audiocraft": audiocraft,
    "musicgen": musicgen,
    "parler": parler,
    "parler-tts": parler,
    "zonos": zonos,
    "dia": dia,
}
NAMES = tuple(sorted(_REGISTRY))


def get(name, **kw):
    """A preset by name (case-insensitive): get("moshi", n_q=8)."""
    f = _REGISTRY.get(str(name).lower())
    if f is None:
        raise ArgError("name: unknown preset %r (known: %s)" % (name, ", ".join(NAMES)),
                       arg="name")
    return f(**kw)


# keep pattern importable for users who want the raw Pattern of a preset
__all__ = ["moshi", "dsm", "hibiki", "audiocraft", "musicgen", "parler", "zonos", "dia", "get",
           "NAMES", "pattern"]
