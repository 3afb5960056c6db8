//! Changes guarded by a version, and what to do when another writer got there first.
//!
//! A versioned change reads a document, decides, and writes only if the document is still as
//! it was read. When that write matches nothing, another writer won the race: the change
//! reads again and decides again from what the winner left, so concurrent changes serialize
//! and none is lost. [`LostRaces`] bounds that loop, the same for every service.

/// How many times a change is tried before it gives up with [`Contended`].
///
/// Each lost race means another change won, so this many changes of one document at once all
/// get through; the bound only ends a loop that something unforeseen keeps losing.
pub const MAX_ATTEMPTS: usize = 100;

/// A change lost the race for its document [`MAX_ATTEMPTS`] times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the document kept changing; gave up after {MAX_ATTEMPTS} attempts")]
pub struct Contended;

/// A driver error carrying [`Contended`] (see `mongodb::error::Error::get_custom`), for changes
/// that answer the driver's error type.
impl From<Contended> for mongodb::error::Error {
    fn from(contended: Contended) -> Self {
        mongodb::error::Error::custom(contended)
    }
}

/// The races one change has lost so far. A change that finds its write matched nothing calls
/// [`LostRaces::lost`] and tries again; past [`MAX_ATTEMPTS`] tries it gets [`Contended`].
///
/// A counter rather than a loop taking the change as a closure: the change borrows from its
/// caller, and an async closure that borrows makes a handler's future fail the compiler's
/// `Send` check.
#[derive(Debug, Default)]
pub struct LostRaces(usize);

impl LostRaces {
    /// Notes one more lost race: `Ok` to try again, [`Contended`] when that was the last try.
    pub fn lost(&mut self) -> Result<(), Contended> {
        self.0 += 1;
        if self.0 < MAX_ATTEMPTS {
            Ok(())
        } else {
            Err(Contended)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_tried_max_attempts_times_in_all() {
        let mut races = LostRaces::default();
        let tries_after_the_first = std::iter::from_fn(|| races.lost().ok()).count();
        assert_eq!(tries_after_the_first + 1, MAX_ATTEMPTS);
        assert_eq!(races.lost(), Err(Contended), "and stays given up");
    }

    #[test]
    fn contention_is_a_driver_error_that_says_so() {
        let error = mongodb::error::Error::from(Contended);
        assert_eq!(error.get_custom::<Contended>(), Some(&Contended));
    }
}
