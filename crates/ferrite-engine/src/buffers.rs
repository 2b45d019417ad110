//! Recycling of the large activation and gradient buffers between training steps.

/// At most this many buffers wait in a pool (a training step of the presets uses about 30).
const MAX_FREE: usize = 96;

/// `f32` buffers given back after a training step and handed out again in the next, so that a
/// step does not fault in and clear fresh pages for each activation: with a new allocation per
/// buffer, page clearing and zero-filling took ~8% of a training step.
#[derive(Debug, Default)]
pub(crate) struct BufferPool {
    free: Vec<Vec<f32>>,
}

impl BufferPool {
    /// A buffer of `len` elements. A recycled buffer keeps its old contents: the caller must
    /// overwrite every element.
    pub(crate) fn take(&mut self, len: usize) -> Vec<f32> {
        match self.free.iter().rposition(|b| b.len() == len) {
            Some(i) => self.free.swap_remove(i),
            None => vec![0.0; len],
        }
    }

    /// Keeps `buffers` for later [`BufferPool::take`]s, dropping the oldest beyond the limit.
    pub(crate) fn give(&mut self, buffers: impl IntoIterator<Item = Vec<f32>>) {
        self.free
            .extend(buffers.into_iter().filter(|b| !b.is_empty()));
        if self.free.len() > MAX_FREE {
            let excess = self.free.len() - MAX_FREE;
            self.free.drain(..excess);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_of_the_asked_length_are_reused_and_others_allocated() {
        let mut pool = BufferPool::default();
        pool.give([vec![1.0; 4], vec![2.0; 8], Vec::new()]);
        let reused = pool.take(8);
        assert_eq!(
            reused,
            vec![2.0; 8],
            "the buffer of length 8 comes back as it was"
        );
        assert_eq!(
            pool.take(5),
            vec![0.0; 5],
            "no buffer of length 5: a new zeroed one"
        );
        assert_eq!(pool.take(4), vec![1.0; 4]);
        assert_eq!(pool.take(4), vec![0.0; 4], "each buffer is handed out once");
    }

    #[test]
    fn the_pool_keeps_at_most_its_limit_dropping_the_oldest() {
        let mut pool = BufferPool::default();
        pool.give((0..MAX_FREE + 3).map(|i| vec![i as f32; 2]));
        assert_eq!(pool.free.len(), MAX_FREE);
        assert_eq!(pool.free[0], vec![3.0; 2]);
    }
}
