# Sample student "chen": a careful student with the two classic fork mistakes.
# - the staged backward assigns dx = ... and dy = ... at every use (= instead of +=);
# - __mul__'s _backward assigns (=) the gradients instead of adding them, so a * a and any value
#   used twice keep only one contribution;
# - tanh's derivative is computed from the input (1 - x**2) in the Value class.
# Everything else is right.

# %% nbgrader={"grade_id": "staged_example"} planted="assigns dx and dy at each use of x and y (= instead of +=), so only the last contribution stays"
def staged_example(x, y):
    sigy, sigx = 1.0 / (1 + math.exp(-y)), 1.0 / (1 + math.exp(-x))
    num, xpy = x + sigy, x + y
    den = sigx + xpy ** 2
    invden = 1.0 / den
    dden = (-1.0 / (den ** 2)) * num
    dx = dy = (2 * xpy) * dden
    dx = ((1 - sigx) * sigx) * dden
    dx = invden
    dy = ((1 - sigy) * sigy) * invden
    return num * invden, dx, dy

# %% nbgrader={"grade_id": "value_ops"} planted="__mul__ assigns the gradients (=) instead of adding them; tanh's derivative is computed from the input, 1 - x**2"
class Value:
    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad, other.grad = other.data * out.grad, self.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad += (1 - self.data ** 2) * out.grad
        out._backward = _backward
        return out
