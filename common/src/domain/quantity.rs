use std::fmt;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// Units in one purchase: 1 to [`Quantity::MAX`]. The activity's per-user limit caps it further.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    /// No single purchase takes more units than this, whatever the activity allows.
    pub const MAX: u32 = 100;
    /// One unit.
    pub const ONE: Self = Self(1);

    /// Checks `1 ≤ units ≤ MAX`.
    ///
    /// # Errors
    /// When `units` is 0 or above [`Quantity::MAX`].
    pub const fn new(units: u32) -> Result<Self, DomainError> {
        if units == 0 || units > Self::MAX {
            Err(DomainError::new("quantity", "must be between 1 and 100"))
        } else {
            Ok(Self(units))
        }
    }

    /// The number of units.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = DomainError;
    fn try_from(units: u32) -> Result<Self, Self::Error> {
        Self::new(units)
    }
}

impl From<Quantity> for u32 {
    fn from(quantity: Quantity) -> u32 {
        quantity.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
