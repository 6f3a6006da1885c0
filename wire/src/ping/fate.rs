//! What the lab's server does to each datagram: drop it, delay it, send it twice.
//!
//! The lab's server rolls `random.randint(0, 10)` and drops the datagram when the roll is below
//! 4 (4 chances in 11, about 36 %, though the lab's text says 30 %). [`LossModel::LabDice`] is
//! that dice; [`LossModel::Probability`] drops with a given probability instead. On top of loss,
//! an echo can be held back by a fixed delay plus a uniformly drawn jitter (so echoes may
//! overtake each other) and can be sent twice.
//!
//! Every draw comes from [`SplitMix64`] seeded by the caller, in a fixed order per datagram
//! (loss, then jitter if any, then duplication if any), so one seed with the same options gives
//! the same fates on every run and every machine.

use std::time::Duration;

pub use crate::split_mix::SplitMix64;

/// How the server decides to drop a datagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossModel {
    /// Drop with this probability, from 0.0 (never) to 1.0 (always).
    Probability(f64),
    /// The lab's dice: an integer from 0 to 10 inclusive, dropped when below 4.
    LabDice,
}

impl LossModel {
    /// The long-run share of datagrams this model drops.
    pub fn expected_loss(&self) -> f64 {
        match self {
            LossModel::Probability(p) => p.clamp(0.0, 1.0),
            LossModel::LabDice => 4.0 / 11.0,
        }
    }
}

/// Everything that decides a datagram's fate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FateModel {
    /// When to drop.
    pub loss: LossModel,
    /// Held back at least this long before the echo.
    pub delay: Duration,
    /// Plus a uniform draw from zero to this (inclusive, in microsteps of one microsecond).
    pub jitter: Duration,
    /// Probability of sending the echo twice.
    pub duplicate: f64,
}

impl Default for FateModel {
    /// The lab's default: 30 % loss, no delay, no duplicates.
    fn default() -> Self {
        FateModel {
            loss: LossModel::Probability(0.3),
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            duplicate: 0.0,
        }
    }
}

/// What happens to one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Thrown away, as a lossy network would.
    Dropped {
        /// The lab dice's roll (0 to 10) when the dice decided.
        roll: Option<u8>,
    },
    /// Echoed after `delay`, `copies` times (1, or 2 for a duplicate).
    Echoed {
        /// How long the echo is held back.
        delay: Duration,
        /// 1 normally, 2 when duplicated.
        copies: u8,
        /// The lab dice's roll (0 to 10) when the dice decided.
        roll: Option<u8>,
    },
}

impl FateModel {
    /// Draws one datagram's fate.
    pub fn decide(&self, rng: &mut SplitMix64) -> Fate {
        let (dropped, roll) = match self.loss {
            LossModel::Probability(p) => (p > 0.0 && rng.next_f64() < p, None),
            LossModel::LabDice => {
                let roll = rng.below(11) as u8;
                (roll < 4, Some(roll))
            }
        };
        if dropped {
            return Fate::Dropped { roll };
        }
        let mut delay = self.delay;
        if !self.jitter.is_zero() {
            let span = self.jitter.as_micros().min(u128::from(u64::MAX - 1)) as u64;
            delay += Duration::from_micros(rng.below(span + 1));
        }
        let copies = if self.duplicate > 0.0 && rng.next_f64() < self.duplicate {
            2
        } else {
            1
        };
        Fate::Echoed {
            delay,
            copies,
            roll,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_same_seed_gives_the_same_fates() {
        let model = FateModel {
            loss: LossModel::Probability(0.3),
            delay: Duration::from_millis(5),
            jitter: Duration::from_millis(10),
            duplicate: 0.1,
        };
        let run = |seed| {
            let mut rng = SplitMix64::new(seed);
            (0..50).map(|_| model.decide(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn lab_dice_drops_rolls_below_four_about_36_percent() {
        let mut rng = SplitMix64::new(42);
        let model = FateModel {
            loss: LossModel::LabDice,
            ..FateModel::default()
        };
        let mut rolls = [0u32; 11];
        let mut dropped = 0;
        for _ in 0..110_000 {
            match model.decide(&mut rng) {
                Fate::Dropped { roll: Some(r) } => {
                    assert!(r < 4, "dropped on roll {r}");
                    rolls[r as usize] += 1;
                    dropped += 1;
                }
                Fate::Echoed { roll: Some(r), .. } => {
                    assert!(r >= 4, "echoed on roll {r}");
                    rolls[r as usize] += 1;
                }
                other => panic!("the dice always rolls: {other:?}"),
            }
        }
        assert!(
            rolls.iter().all(|&n| (9_000..11_000).contains(&n)),
            "rolls not uniform: {rolls:?}"
        );
        assert!(
            (39_000..41_000).contains(&dropped),
            "dropped {dropped} of 110000"
        );
    }

    #[test]
    fn probability_zero_and_one_are_exact() {
        let mut rng = SplitMix64::new(3);
        let never = FateModel {
            loss: LossModel::Probability(0.0),
            ..FateModel::default()
        };
        let always = FateModel {
            loss: LossModel::Probability(1.0),
            ..FateModel::default()
        };
        for _ in 0..1000 {
            assert_eq!(
                never.decide(&mut rng),
                Fate::Echoed {
                    delay: Duration::ZERO,
                    copies: 1,
                    roll: None
                }
            );
            assert_eq!(always.decide(&mut rng), Fate::Dropped { roll: None });
        }
    }

    #[test]
    fn jitter_stays_within_delay_and_delay_plus_jitter() {
        let mut rng = SplitMix64::new(9);
        let model = FateModel {
            loss: LossModel::Probability(0.0),
            delay: Duration::from_millis(20),
            jitter: Duration::from_millis(5),
            duplicate: 0.5,
        };
        let mut doubles = 0;
        for _ in 0..2000 {
            let Fate::Echoed { delay, copies, .. } = model.decide(&mut rng) else {
                panic!("no loss configured")
            };
            assert!(
                delay >= Duration::from_millis(20) && delay <= Duration::from_millis(25),
                "{delay:?}"
            );
            doubles += usize::from(copies == 2);
        }
        assert!(
            (850..1150).contains(&doubles),
            "{doubles} duplicates of 2000 at p=0.5"
        );
    }
}
