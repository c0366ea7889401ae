//! Small signal checks: level and dominant tone, for tests and for the "audio came back" check.

/// Root mean square of the samples (0 for an empty slice).
pub fn rms(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt() as f32
}

/// Amplitude (in sample units) of the sinusoid at `freq` Hz in `samples`, by the Goertzel
/// algorithm. A full-scale tone of amplitude A at exactly `freq` gives about A.
pub fn tone_level(samples: &[i16], rate: u32, freq: f32) -> f32 {
    if samples.is_empty() || rate == 0 {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * f64::from(freq) / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0);
    (2.0 * power.sqrt() / samples.len() as f64) as f32
}

/// The frequency (Hz) of the strongest tone between 50 Hz and min(4 kHz, rate/2), or `None`
/// for silence (rms below 30) or too few samples. Resolution about 1 Hz for windows of a
/// second; coarse scan in 10 Hz steps, then a 1 Hz refinement around the peak.
pub fn dominant_frequency(samples: &[i16], rate: u32) -> Option<f32> {
    if samples.len() < 64 || rate == 0 || rms(samples) < 30.0 {
        return None;
    }
    let top = (rate as f32 / 2.0).min(4000.0);
    let peak = |from: f32, to: f32, step: f32| {
        let mut best = (from, 0.0f32);
        let mut f = from;
        while f <= to {
            let level = tone_level(samples, rate, f);
            if level > best.1 {
                best = (f, level);
            }
            f += step;
        }
        best
    };
    let (coarse, _) = peak(50.0, top, 10.0);
    let (fine, level) = peak((coarse - 10.0).max(50.0), (coarse + 10.0).min(top), 1.0);
    (level > 0.0).then_some(fine)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, rate: u32, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (8000.0 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin()) as i16)
            .collect()
    }

    #[test]
    fn finds_the_tone() {
        let f = dominant_frequency(&tone(1000.0, 48_000, 48_000), 48_000).unwrap_or(0.0);
        assert!((f - 1000.0).abs() < 3.0, "{f}");
        let f = dominant_frequency(&tone(700.0, 8_000, 8_000), 8_000).unwrap_or(0.0);
        assert!((f - 700.0).abs() < 3.0, "{f}");
        assert!((tone_level(&tone(700.0, 8_000, 8_000), 8_000, 700.0) - 8000.0).abs() < 100.0);
    }

    #[test]
    fn silence_has_no_tone() {
        assert_eq!(dominant_frequency(&[0; 4800], 48_000), None);
        assert_eq!(rms(&[]), 0.0);
    }
}
