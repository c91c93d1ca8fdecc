"""`Tensor`: a NumPy array that remembers how it was computed, with PyTorch's names."""
import numpy as np

from . import rng
from .autograd import Function, is_grad_enabled, run_backward, set_tensor_type
from .ops import arithmetic, pointwise, reduce, shape, softmax as softmax_ops
from .ops.reduce import normalize_dims


def _default_dtype(data):
    # torch's rule: Python floats become float32, Python ints int64; arrays keep their dtype.
    array = np.asarray(data)
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        return array
    if array.dtype == np.float64:
        return array.astype(np.float32)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    return array


class Tensor:
    """An n-dimensional array with optional gradient tracking.

    data: the ndarray; grad: ndarray of the same shape (or None); grad_fn: the op that made it
    (None for leaves you created).
    """

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # ndarray + Tensor returns a Tensor

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        array = np.asarray(data, dtype=dtype) if dtype is not None else _default_dtype(data)
        if requires_grad and array.dtype.kind not in "fc":
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {array.dtype}; "
                "create it with dtype=np.float64 (or call .double()) first.")
        self.data = array
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn = None
        self._retains_grad = False

    @classmethod
    def _wrap(cls, array, requires_grad):
        out = object.__new__(cls)
        out.data = np.asarray(array)
        out.grad = None
        out.requires_grad = requires_grad
        out.grad_fn = None
        out._retains_grad = False
        return out

    # ---- properties ---------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    is_leaf = property(lambda self: self.grad_fn is None)
    T = property(lambda self: self.permute(*reversed(range(self.ndim))))

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype not in (np.float32, np.int64):
            extra += f", dtype={self.data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn={self.grad_fn!r}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # ---- autograd -------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=False):
        """Compute d self / d leaf for every leaf that requires grad, adding into leaf.grad.

        gradient: d loss / d self, same shape as self; may be omitted only for one-element
        tensors (a scalar loss), where it is 1.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no grad_fn; "
                               "create the inputs with requires_grad=True.")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): grad can be implicitly created only for scalar outputs, but this "
                    f"tensor has shape {self.shape}; pass gradient= with that shape "
                    "(d loss / d this tensor), or reduce it to a scalar first (e.g. .sum()).")
            gradient = np.ones_like(self.data)
        else:
            gradient = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient,
                                  dtype=self.data.dtype)
            if gradient.shape != self.shape:
                raise RuntimeError(f"backward(): gradient has shape {gradient.shape} but the "
                                   f"tensor has shape {self.shape}; they must match.")
        run_backward(self, gradient, retain_graph=retain_graph)

    def _accumulate_grad(self, grad):
        # run_backward has already checked the shape (check_grad_shape).
        grad = np.asarray(grad, dtype=self.data.dtype)
        # A fresh array every time: .grad must never alias an array an op still uses.
        self.grad = np.array(grad) if self.grad is None else self.grad + grad

    def retain_grad(self):
        """Keep .grad on this non-leaf tensor too (for inspecting intermediate gradients)."""
        self._retains_grad = True
        return self

    def detach(self):
        return Tensor._wrap(self.data, False)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got {self.dtype}.")
        self.requires_grad = requires_grad
        return self

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors convert to a Python number, "
                             f"this one has shape {self.shape}.")
        return self.data.item()

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on a Tensor that requires grad; "
                               "use tensor.detach().numpy().")
        return self.data

    def __array__(self, dtype=None, copy=None):
        # np.asarray(t) gives its values, as for torch tensors; without this NumPy would build
        # an object array of 0-d Tensors. Like .numpy(), refused while the tensor requires grad.
        return np.array(self.numpy(), dtype=dtype, copy=copy)

    def tolist(self):
        return self.data.tolist()

    def to(self, dtype):
        return self._cast(dtype)

    def float(self):
        return self._cast(np.float32)

    def double(self):
        return self._cast(np.float64)

    def long(self):
        return Tensor._wrap(self.data.astype(np.int64), False)

    def _cast(self, dtype):
        return _Cast.apply(self, np.dtype(dtype))

    # ---- arithmetic ---------------------------------------------------------------------
    def __add__(self, other):
        return arithmetic.Add.apply(self, _operand(other))

    def __radd__(self, other):
        return arithmetic.Add.apply(_operand(other), self)

    def __sub__(self, other):
        return arithmetic.Sub.apply(self, _operand(other))

    def __rsub__(self, other):
        return arithmetic.Sub.apply(_operand(other), self)

    def __mul__(self, other):
        return arithmetic.Mul.apply(self, _operand(other))

    def __rmul__(self, other):
        return arithmetic.Mul.apply(_operand(other), self)

    def __truediv__(self, other):
        return arithmetic.Div.apply(self, _operand(other))

    def __rtruediv__(self, other):
        return arithmetic.Div.apply(_operand(other), self)

    def __pow__(self, other):
        return arithmetic.Pow.apply(self, _operand(other))

    def __rpow__(self, other):
        return arithmetic.Pow.apply(_operand(other), self)

    def __neg__(self):
        return arithmetic.Neg.apply(self)

    def __matmul__(self, other):
        return arithmetic.MatMul.apply(self, _operand(other))

    def __rmatmul__(self, other):
        return arithmetic.MatMul.apply(_operand(other), self)

    add, sub, mul, div, pow, matmul = __add__, __sub__, __mul__, __truediv__, __pow__, __matmul__

    # In-place updates, `p -= lr * p.grad` inside no_grad(): without them Python rebinds the name
    # to a new Tensor and the model's parameter silently keeps its old value.
    def __iadd__(self, other):
        return self._in_place(Tensor.__add__, other)

    def __isub__(self, other):
        return self._in_place(Tensor.__sub__, other)

    def __imul__(self, other):
        return self._in_place(Tensor.__mul__, other)

    def __itruediv__(self, other):
        return self._in_place(Tensor.__truediv__, other)

    def _in_place(self, op, other):
        result = op(self, other)
        if result.grad_fn is not None:  # recorded in the graph
            if self.is_leaf and self.requires_grad:
                raise RuntimeError("a leaf Tensor that requires grad can't be changed in place "
                                   "while the graph is recorded; update parameters inside "
                                   "`with mg.no_grad():`.")
            return result  # a new node, as torch's in-place op on a non-leaf records one
        if result.shape != self.shape:
            raise RuntimeError(f"in-place op: the result's shape {result.shape} differs from the "
                               f"tensor's shape {self.shape}.")
        self.data = result.data.astype(self.dtype, copy=False)  # keeps dtype, as torch does
        return self

    # Comparisons give boolean tensors outside the graph (masks, accuracy).
    def __gt__(self, other):
        return Tensor._wrap(self.data > _raw(other), False)

    def __ge__(self, other):
        return Tensor._wrap(self.data >= _raw(other), False)

    def __lt__(self, other):
        return Tensor._wrap(self.data < _raw(other), False)

    def __le__(self, other):
        return Tensor._wrap(self.data <= _raw(other), False)

    def eq(self, other):
        return Tensor._wrap(self.data == _raw(other), False)

    __hash__ = object.__hash__

    def __bool__(self):
        # Without this every Tensor is truthy and `if loss < 0.1:` is always taken.
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of a Tensor with {self.data.size} values is "
                               "ambiguous; use .any() / .all() on .data, or reduce it first.")
        return bool(self.data.item())

    # ---- elementwise functions ------------------------------------------------------------
    def exp(self):
        return pointwise.Exp.apply(self)

    def log(self):
        return pointwise.Log.apply(self)

    def sqrt(self):
        return pointwise.Sqrt.apply(self)

    def tanh(self):
        return pointwise.Tanh.apply(self)

    def sigmoid(self):
        return pointwise.Sigmoid.apply(self)

    def relu(self):
        return pointwise.ReLU.apply(self)

    def abs(self):
        return pointwise.Abs.apply(self)

    __abs__ = abs

    # ---- reductions -----------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False):
        return reduce.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim=False):
        return reduce.Mean.apply(self, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim=False):
        """Max values (torch.max(x, dim) also returns indices: use .argmax(dim) for those)."""
        return reduce.Max.apply(self, dim=dim, keepdim=keepdim)

    def argmax(self, dim=None, keepdim=False):
        if dim is None:
            return Tensor._wrap(np.argmax(self.data), False)
        return Tensor._wrap(np.argmax(self.data, axis=dim, keepdims=keepdim), False)

    def softmax(self, dim):
        return softmax_ops.Softmax.apply(self, dim=dim)

    def log_softmax(self, dim):
        return softmax_ops.LogSoftmax.apply(self, dim=dim)

    def logsumexp(self, dim, keepdim=False):
        return softmax_ops.LogSumExp.apply(self, dim=dim, keepdim=keepdim)

    # ---- shape ----------------------------------------------------------------------------
    def reshape(self, *sizes):
        # (named `sizes`, not `shape`: that name is the ops.shape module used below)
        sizes = sizes[0] if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
        return shape.Reshape.apply(self, shape=tuple(sizes))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        dims = self.shape
        start, end = _dim(start_dim, self.ndim), _dim(end_dim, self.ndim)
        new = dims[:start] + (int(np.prod(dims[start:end + 1])),) + dims[end + 1:]
        return self.reshape(new)

    def permute(self, *dims):
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        dims = normalize_permutation(dims, self.ndim)
        return shape.Permute.apply(self, dims=dims)

    def transpose(self, dim0, dim1):
        dims = list(range(self.ndim))
        dim0, dim1 = _dim(dim0, self.ndim), _dim(dim1, self.ndim)
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return shape.Permute.apply(self, dims=tuple(dims))

    def expand(self, *sizes):
        sizes = sizes[0] if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
        offset = len(sizes) - self.ndim
        target = tuple(self.shape[i - offset] if s == -1 else s for i, s in enumerate(sizes))
        return shape.Expand.apply(self, shape=target)

    def unsqueeze(self, dim):
        dim = _dim(dim, self.ndim + 1)  # the new dim may also go after the last one
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dim = _dim(dim, self.ndim)
        if self.shape[dim] != 1:
            return self
        return self.reshape(self.shape[:dim] + self.shape[dim + 1:])

    def __getitem__(self, index):
        return shape.GetItem.apply(self, index=_raw_index(index))


set_tensor_type(Tensor)  # from now on every Function.apply returns Tensors (see autograd.py)


class _Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.dtype)


def _dim(dim, ndim):
    """`dim` in [-ndim, ndim) as an index; out of range is an error, as in torch (wrapping it
    silently, dim % ndim, would make transpose(0, 2) of a matrix a no-op)."""
    return normalize_dims(dim, ndim)[0]


def normalize_permutation(dims, ndim):
    dims = tuple(_dim(d, ndim) for d in dims)
    if sorted(dims) != list(range(ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {ndim} dimensions.")
    return dims


def _operand(value):
    """Tensors pass through; Python numbers stay Python numbers so float32 is never upcast.

    NumPy scalars (np.sqrt(2.0) is an np.float64) become Python numbers too: numpy would let an
    np.float64 upcast a float32 array, torch treats them as plain numbers.
    """
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if isinstance(value, Tensor) or isinstance(value, (int, float)):
        return value
    return Tensor(value)


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _raw_index(index):
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return _raw(index)


def tensor(data, requires_grad=False, dtype=None):
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def cat(tensors, dim=0):
    """Concatenate along an existing dim (torch.cat)."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    return shape.Cat.apply(*tensors, dim=dim)


def stack(tensors, dim=0):
    """Stack along a new dim (torch.stack)."""
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    return shape.Stack.apply(*tensors, dim=dim)


def _factory(fill):
    def make(*shape, dtype=np.float32, requires_grad=False):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return Tensor(fill(shape, dtype=dtype), requires_grad=requires_grad)
    return make


zeros = _factory(np.zeros)
ones = _factory(np.ones)


def randn(*shape, dtype=np.float32, requires_grad=False, generator=None):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    if generator is None:  # the generator mg.manual_seed seeds, as torch.manual_seed does randn
        generator = rng.default
    return Tensor(generator.standard_normal(shape).astype(dtype), requires_grad=requires_grad)


def is_tensor(value):
    return isinstance(value, Tensor)


__all__ = ["Tensor", "tensor", "cat", "stack", "zeros", "ones", "randn", "is_grad_enabled"]
