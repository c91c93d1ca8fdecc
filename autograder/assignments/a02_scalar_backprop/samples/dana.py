# Sample student "dana": follows the lecture notes a little too literally.
# - the sigmoid's derivative is written sigmoid(k) * sigmoid(1 - k), as in the notes' pseudocode
#   (in local_gradients and in the scalar net);
# - the power rule lost its factor n: d(x**n)/dx = x**(n-1);
# - a / b is its own op, with the wrong sign on the denominator's derivative;
# - backward() sets every grad to zero first, leaves included, so a second call does not
#   accumulate as in PyTorch; and train_step never zeroes the grads.

# %% nbgrader={"grade_id": "local_gradients"} planted="the sigmoid's derivative is sigmoid(k) * sigmoid(1 - k)"
def local_gradients(op, x, y=None):
    if op == "sigmoid":
        s = 1 / (1 + math.exp(-x))
        return s, s * (1 / (1 + math.exp(-(1 - x))))
    elif op == "tanh":
        t = math.tanh(x)
        return t, 1 - t ** 2
    elif op == "exp":
        return math.exp(x), math.exp(x)
    elif op == "pow":
        return x ** y, y * x ** (y - 1)
    elif op == "max":
        return (x, 1.0, 0.0) if x >= y else (y, 0.0, 1.0)
    elif op in ("add", "mul"):
        return (x + y, 1.0, 1.0) if op == "add" else (x * y, y, x)

# %% nbgrader={"grade_id": "scalar_net"} planted="the hidden sigmoid's derivative is sigmoid(k) * sigmoid(1 - k)"
def scalar_net(X, Y, W1, b1, W2, b2):
    Z2 = X * W1 + b1
    Z3 = 1 / (1 + math.exp(-Z2))
    dYp = Z3 * W2 + b2 - Y
    dZ2 = Z3 * (1 / (1 + math.exp(-(1 - Z2)))) * (W2 * dYp)
    return 0.5 * dYp ** 2, X * dZ2, dZ2, Z3 * dYp, dYp

# %% nbgrader={"grade_id": "value_ops"} planted="the power rule lost its factor n; a / b is its own op with the wrong sign on the denominator's derivative"
class Value:
    def __pow__(self, n):
        out = Value(self.data ** n, (self,), "**")

        def _backward():
            self.grad += self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data / other.data, (self, other), "/")

        def _backward():
            self.grad += out.grad / other.data
            other.grad += self.data / other.data ** 2 * out.grad
        out._backward = _backward
        return out

    def __rtruediv__(self, other):
        return Value(other) / self

# %% nbgrader={"grade_id": "value_backward"} planted="backward() resets every grad, leaves included, so a second call does not accumulate"
def backward(self):
    order = topological_order(self)
    for node in order:
        node.grad = 0.0
    self.grad = 1.0
    for node in reversed(order):
        node._backward()

# %% nbgrader={"grade_id": "train_step"} planted="never zeroes the grads before backward, so they pile up from step to step"
def train_step(model, X, y, lr):
    loss = squared_loss(model, X, y)
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return loss.data
