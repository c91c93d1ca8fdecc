"""Optimisers with torch.optim's update rules."""
import numpy as np


class Optimizer:
    def __init__(self, params, lr):
        self.params = [p for p in params]
        if not self.params:
            raise ValueError("optimizer got an empty parameter list.")
        if lr < 0:
            raise ValueError(f"invalid learning rate {lr}.")
        self.lr = lr

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = np.zeros_like(p.grad)

    def step(self):
        for index, p in enumerate(self.params):
            if p.grad is not None:
                # Updates change .data in place: they are not part of any graph.
                p.data = self.update(index, p.data, p.grad.astype(p.data.dtype, copy=False))

    def update(self, index, param, grad):
        raise NotImplementedError


class SGD(Optimizer):
    """v ← μ v + (g + λ w);  w ← w − lr · v   (torch's form of momentum, dampening 0)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr)
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
        self.velocity = [None] * len(self.params)

    def update(self, index, param, grad):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if self.momentum:
            v = self.velocity[index]
            v = grad.copy() if v is None else self.momentum * v + grad
            self.velocity[index] = v
            grad = grad + self.momentum * v if self.nesterov else v
        return param - self.lr * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; weight_decay as L2 added to the gradient."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.steps = [0] * len(self.params)

    def update(self, index, param, grad):
        beta1, beta2 = self.betas
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        self.steps[index] += 1
        t = self.steps[index]
        self.m[index] = beta1 * self.m[index] + (1 - beta1) * grad
        self.v[index] = beta2 * self.v[index] + (1 - beta2) * grad * grad
        m_hat = self.m[index] / (1 - beta1 ** t)
        v_hat = self.v[index] / (1 - beta2 ** t)
        return param - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
