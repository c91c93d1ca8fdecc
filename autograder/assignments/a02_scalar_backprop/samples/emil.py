# Sample student "emil": micrograd from memory.
# - max sends the gradient to the smaller input (a half split at a tie is fine: any split is);
# - the staged backward keeps only the gradient through x + y (the first use of x and y);
# - no __radd__ (2.0 + v fails) and a recursive topological sort (RecursionError on deep graphs);
# - backward() never resets the intermediate nodes' grads, so a second call over-counts;
# - the output neuron of the MLP applies tanh as well.

# %% nbgrader={"grade_id": "local_gradients"} planted="max routes the gradient to the smaller input (the half split at a tie is a valid subgradient, not the mistake)"
def local_gradients(op, x, y=None):
    def sigmoid():
        s = 1 / (1 + math.exp(-x))
        return s, s * (1 - s)
    rules = {"add": lambda: (x + y, 1.0, 1.0), "mul": lambda: (x * y, y, x),
             "max": lambda: (x, 0.5, 0.5) if x == y else (x, 0.0, 1.0) if x > y else (y, 1.0, 0.0),
             "sigmoid": sigmoid, "tanh": lambda: (math.tanh(x), 1 - math.tanh(x) ** 2),
             "exp": lambda: (math.exp(x), math.exp(x)), "pow": lambda: (x ** y, y * x ** (y - 1))}
    return rules[op]() if op in rules else None

# %% nbgrader={"grade_id": "staged_example"} planted="backpropagates only through x + y, the first use of x and y; the paths through the sigmoids are lost"
def staged_example(x, y):
    xpy = x + y
    sigx, sigy = 1.0 / (1 + math.exp(-x)), 1.0 / (1 + math.exp(-y))
    num, den = x + sigy, sigx + xpy ** 2
    dxpy = (2 * xpy) * ((-1.0 / (den ** 2)) * num)
    return num * (1.0 / den), dxpy, dxpy

# %% nbgrader={"grade_id": "value_ops"} planted="no __radd__, so 2.0 + v and 2.0 - v fail" remove=["Value.__radd__"]
class Value:
    def __rsub__(self, other):
        return other + (-self)

# %% nbgrader={"grade_id": "value_backward"} planted="recursive topological sort (RecursionError on deep graphs); backward() never resets the interior grads"
def topological_order(root, visited=None):
    visited = set() if visited is None else visited
    visited.add(root)
    order = []
    for child in root._prev:
        if child not in visited:
            order += topological_order(child, visited)
    return order + [root]

def backward(self):
    order = topological_order(self)
    self.grad = 1.0
    for node in reversed(order):
        node._backward()

# %% nbgrader={"grade_id": "mlp"} planted="the output layer applies tanh as well"
class MLP:
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=True) for i in range(len(nouts))]
