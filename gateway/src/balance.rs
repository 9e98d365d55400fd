//! Smooth weighted round-robin, nginx's algorithm: every pick adds each eligible instance's
//! weight to its running score, takes the highest score (the first on a tie) and takes the
//! sum of the eligible weights off the winner. Weights 5/1/1 give `a a b a c a a`: the
//! heavy instance never gets a long run of requests while the others idle.

/// The running scores of a set of weighted instances, in configuration order.
#[derive(Debug, Clone, Default)]
pub struct SmoothWeighted {
    weights: Vec<i64>,
    scores: Vec<i64>,
}

impl SmoothWeighted {
    /// Instances with these weights, every score zero.
    pub fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let weights: Vec<i64> = weights.into_iter().map(i64::from).collect();
        let scores = vec![0; weights.len()];
        Self { weights, scores }
    }

    /// The next instance among those for which `eligible(index)` holds; `None` when none is.
    pub fn pick(&mut self, eligible: impl Fn(usize) -> bool) -> Option<usize> {
        let mut total = 0;
        let mut best: Option<usize> = None;
        for (index, weight) in self.weights.iter().enumerate() {
            if !eligible(index) {
                continue;
            }
            self.scores[index] += weight;
            total += weight;
            if best.is_none_or(|b| self.scores[index] > self.scores[b]) {
                best = Some(index);
            }
        }
        let chosen = best?;
        self.scores[chosen] -= total;
        Some(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(weights: &[u32], picks: usize, eligible: impl Fn(usize) -> bool) -> String {
        let mut rr = SmoothWeighted::new(weights.iter().copied());
        (0..picks)
            .map(|_| rr.pick(&eligible).map_or('-', |i| (b'a' + i as u8) as char))
            .collect()
    }

    #[test]
    fn nginx_order_for_five_one_one() {
        assert_eq!(sequence(&[5, 1, 1], 14, |_| true), "aabacaaaabacaa");
    }

    #[test]
    fn three_two_one_interleaves() {
        assert_eq!(sequence(&[3, 2, 1], 12, |_| true), "abacbaabacba");
    }

    #[test]
    fn equal_weights_rotate() {
        assert_eq!(sequence(&[1, 1, 1], 6, |_| true), "abcabc");
    }

    #[test]
    fn ineligible_instances_are_skipped_and_the_rest_keep_their_ratio() {
        let picks = sequence(&[3, 2, 1], 600, |i| i != 1);
        assert_eq!(picks.matches('b').count(), 0);
        assert_eq!(picks.matches('a').count(), 450);
        assert_eq!(picks.matches('c').count(), 150);
        assert_eq!(sequence(&[3, 2, 1], 2, |_| false), "--");
    }

    #[test]
    fn shares_follow_the_weights() {
        let picks = sequence(&[7, 2, 1], 1000, |_| true);
        assert_eq!(picks.matches('a').count(), 700);
        assert_eq!(picks.matches('b').count(), 200);
    }
}
