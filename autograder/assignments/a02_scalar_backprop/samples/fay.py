# Sample student "fay": a tidy engine with order and rule slips.
# - the multiply gate's local gradients are not swapped: (x, y) instead of (y, x);
# - the power rule keeps the exponent: n * x**n;
# - backward() visits the nodes in forward (topological) order instead of reverse;
# - the rest is right.

# %% nbgrader={"grade_id": "local_gradients"} planted="the multiply gate's local gradients are not swapped: (x, y) instead of (y, x)"
def local_gradients(op, x, y=None):
    match op:
        case "add":
            return x + y, 1.0, 1.0
        case "mul":
            return x * y, x, y
        case "max":
            return (x, 1.0, 0.0) if x >= y else (y, 0.0, 1.0)
        case "sigmoid":
            s = 1 / (1 + math.exp(-x))
            return s, s * (1 - s)
        case "tanh":
            t = math.tanh(x)
            return t, 1 - t ** 2
        case "exp":
            return math.exp(x), math.exp(x)
        case "pow":
            return x ** y, y * x ** (y - 1)

# %% nbgrader={"grade_id": "value_ops"} planted="the power rule keeps the exponent: n * x**n"
class Value:
    def __pow__(self, n):
        out = Value(self.data ** n, (self,), "**")

        def _backward():
            self.grad += n * self.data ** n * out.grad
        out._backward = _backward
        return out

# %% nbgrader={"grade_id": "value_backward"} planted="backward() runs the _backward rules in forward (topological) order instead of reverse"
def backward(self):
    order = topological_order(self)
    for node in (n for n in order if n._prev):
        node.grad = 0.0
    self.grad = 1.0
    for node in order:
        node._backward()
