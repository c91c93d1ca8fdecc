# Sample student "chen": a careful student with the two classic fork mistakes.
# - the staged backward assigns dx = ... and dy = ... at every use (= instead of +=);
# - __mul__'s _backward assigns (=) the gradients instead of adding them, so a * a and any value
#   used twice keep only one contribution;
# - tanh's derivative is computed from the input (1 - x**2) in the Value class.
# Everything else is right.

# %% nbgrader={"grade_id": "local_gradients"} planted="TODO"
def local_gradients(op, x, y=None):
    if op == "add":
        return x + y, 1.0, 1.0
    if op == "mul":
        return x * y, y, x
    if op == "max":
        return (x, 1.0, 0.0) if x >= y else (y, 0.0, 1.0)
    if op == "sigmoid":
        s = 1 / (1 + math.exp(-x))
        return s, s * (1 - s)
    if op == "tanh":
        t = math.tanh(x)
        return t, 1 - t ** 2
    if op == "exp":
        return math.exp(x), math.exp(x)
    if op == "pow":
        return x ** y, y * x ** (y - 1)

# %% nbgrader={"grade_id": "staged_example"} planted="TODO"
def staged_example(x, y):
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy ** 2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum = invden
    dinvden = num
    dden = (-1.0 / (den ** 2)) * dinvden
    dsigx = dden
    dxpysqr = dden
    dxpy = (2 * xpy) * dxpysqr
    dx = dxpy
    dy = dxpy
    dx = ((1 - sigx) * sigx) * dsigx
    dx = dnum
    dsigy = dnum
    dy = ((1 - sigy) * sigy) * dsigy
    return f, dx, dy

# %% nbgrader={"grade_id": "scalar_net"} planted="TODO"
def scalar_net(X, Y, W1, b1, W2, b2):
    Z1 = X * W1
    Z2 = Z1 + b1
    Z3 = 1 / (1 + math.exp(-Z2))
    Z4 = Z3 * W2
    Yp = Z4 + b2
    L = 0.5 * (Yp - Y) ** 2
    dYp = Yp - Y
    dZ3 = W2 * dYp
    dZ2 = Z3 * (1 - Z3) * dZ3
    return L, X * dZ2, dZ2, Z3 * dYp, dYp

# %% nbgrader={"grade_id": "value_ops"} planted="TODO"
class Value:
    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, n):
        out = Value(self.data ** n, (self,), "**")

        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - self.data ** 2) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(0.0, self.data), (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1 - s) * out.grad
        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __truediv__(self, other):
        return self * other ** -1

    def __rsub__(self, other):
        return other + (-self)

    def __rtruediv__(self, other):
        return other * self ** -1

# %% nbgrader={"grade_id": "value_backward"} planted="TODO"
def topological_order(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            for p in node._prev:
                stack.append((p, False))
    return order

# %% nbgrader={"grade_id": "mlp"} planted="TODO"
class Neuron:
    def __init__(self, nin, nonlin=True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh() if self.nonlin else act

class Layer:
    def __call__(self, x):
        return [n(x) for n in self.neurons]

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

class MLP:
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]
