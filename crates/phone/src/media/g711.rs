//! G.711 µ-law and A-law (ITU-T G.711), and the 48 kHz ↔ 8 kHz resampling around them.

use super::FRAME_SAMPLES;

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32_635;

/// µ-law encode of one 16-bit linear sample.
pub(crate) fn ulaw_encode(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(ULAW_CLIP) + ULAW_BIAS;
    // Segment = position of the highest set bit above bit 7.
    let exponent = 7 - ((s >> 7) as u8).leading_zeros() as i32;
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

const fn ulaw_decode_calc(u: u8) -> i16 {
    let u = !u;
    let exponent = (u >> 4) & 0x07;
    let mantissa = (u & 0x0F) as i32;
    let s = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 {
        -s as i16
    } else {
        s as i16
    }
}

/// A-law encode of one 16-bit linear sample.
pub(crate) fn alaw_encode(sample: i16) -> u8 {
    let mut pcm = i32::from(sample) >> 3;
    let mask = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    // Segment end points for 13-bit magnitudes.
    const SEG_END: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    let seg = SEG_END.iter().position(|&end| pcm <= end).unwrap_or(8) as i32;
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let mut aval = seg << 4;
    aval |= if seg < 2 {
        (pcm >> 1) & 0x0F
    } else {
        (pcm >> seg) & 0x0F
    };
    (aval ^ mask) as u8
}

const fn alaw_decode_calc(a: u8) -> i16 {
    let a = a ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            alaw_decode_calc(i as u8)
        } else {
            ulaw_decode_calc(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW_TABLE: [i16; 256] = table(false);
static ALAW_TABLE: [i16; 256] = table(true);

/// µ-law decode of one byte.
pub(crate) fn ulaw_decode(u: u8) -> i16 {
    ULAW_TABLE[usize::from(u)]
}

/// A-law decode of one byte.
pub(crate) fn alaw_decode(a: u8) -> i16 {
    ALAW_TABLE[usize::from(a)]
}

/// Samples of one 20 ms frame at 8 kHz.
pub(crate) const NARROW_FRAME: usize = FRAME_SAMPLES / 6;

/// 48 kHz → 8 kHz by averaging groups of six samples (a crude low-pass, enough for speech
/// and tones below 3.4 kHz). `out` gets `input.len() / 6` samples.
pub(crate) fn downsample_6(input: &[i16], out: &mut [i16]) {
    for (o, chunk) in out.iter_mut().zip(input.chunks_exact(6)) {
        let sum: i32 = chunk.iter().map(|&s| i32::from(s)).sum();
        *o = (sum / 6) as i16;
    }
}

/// 8 kHz → 48 kHz by linear interpolation; keeps the last sample between frames.
#[derive(Debug, Default)]
pub(crate) struct Upsampler {
    prev: i32,
}

impl Upsampler {
    /// Writes `6 * input.len()` samples into `out`.
    pub(crate) fn process(&mut self, input: &[i16], out: &mut [i16]) {
        for (&x, chunk) in input.iter().zip(out.chunks_exact_mut(6)) {
            let x = i32::from(x);
            let d = x - self.prev;
            for (k, o) in chunk.iter_mut().enumerate() {
                *o = (self.prev + d * (k as i32 + 1) / 6) as i16;
            }
            self.prev = x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_round_trip_is_close() {
        for s in (-32768i32..32767).step_by(7) {
            let s = s as i16;
            let back = ulaw_decode(ulaw_encode(s));
            let err = (i32::from(back) - i32::from(s)).abs();
            assert!(err <= (i32::from(s).abs() / 16).max(8) + 132, "{s} -> {back}");
        }
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(-1), 0x7F);
        assert_eq!(ulaw_encode(32_767), 0x80);
        assert_eq!(ulaw_encode(-32_768), 0x00);
    }

    #[test]
    fn alaw_round_trip_is_close() {
        for s in (-32768i32..32767).step_by(7) {
            let s = s as i16;
            let back = alaw_decode(alaw_encode(s));
            let err = (i32::from(back) - i32::from(s)).abs();
            assert!(err <= (i32::from(s).abs() / 16).max(16) + 16, "{s} -> {back}");
        }
        assert_eq!(alaw_encode(0), 0xD5);
    }

    #[test]
    fn resampling_keeps_length_and_level() {
        let input = [1000i16; FRAME_SAMPLES];
        let mut narrow = [0i16; NARROW_FRAME];
        downsample_6(&input, &mut narrow);
        assert!(narrow.iter().all(|&s| s == 1000));
        let mut up = Upsampler::default();
        let mut wide = [0i16; FRAME_SAMPLES];
        up.process(&narrow, &mut wide);
        up.process(&narrow, &mut wide);
        assert!(wide.iter().all(|&s| s == 1000));
    }
}
