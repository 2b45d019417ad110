//! Adam, on the engine's flat parameter list.

/// Adam state: first and second moments per parameter tensor.
#[derive(Debug, Clone, Default)]
pub struct Adam {
    /// Exponential decay of the first moment.
    pub beta1: f32,
    /// Exponential decay of the second moment.
    pub beta2: f32,
    /// Added to the denominator.
    pub epsilon: f32,
    step: u32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// Adam with the usual betas (0.9, 0.999) and `epsilon`.
    pub fn new(epsilon: f32) -> Adam {
        Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon,
            ..Adam::default()
        }
    }

    /// One update of every parameter tensor with its gradient.
    pub fn step(&mut self, lr: f32, params: Vec<&mut [f32]>, grads: &[Vec<f32>]) {
        if self.m.is_empty() {
            self.m = grads.iter().map(|g| vec![0.0; g.len()]).collect();
            self.v = self.m.clone();
        }
        self.step += 1;
        let c1 = 1.0 - self.beta1.powi(self.step as i32);
        let c2 = 1.0 - self.beta2.powi(self.step as i32);
        for (((p, g), m), v) in params
            .into_iter()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            for i in 0..p.len() {
                m[i] = self.beta1 * m[i] + (1.0 - self.beta1) * g[i];
                v[i] = self.beta2 * v[i] + (1.0 - self.beta2) * g[i] * g[i];
                p[i] -= lr * (m[i] / c1) / ((v[i] / c2).sqrt() + self.epsilon);
            }
        }
    }
}
