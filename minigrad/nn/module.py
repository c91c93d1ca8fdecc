"""`Module`: a container of parameters and sub-modules, as torch.nn.Module."""
from collections import OrderedDict

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable (requires_grad=True by default)."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else np.asarray(data),
                         requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Assign Parameters and Modules as attributes; they are found by `parameters()`."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 "before assigning attributes.")
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self._parameters or name in self._modules:
            # Otherwise the old one stays registered: the optimiser would train (and state_dict
            # save) a parameter forward no longer uses. As in torch: None removes it, else error.
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to '{name}', which holds "
                                "a Parameter or Module (assign one, or None to remove it; to "
                                "change a parameter's values set its .data).")
            self._parameters.pop(name, None)
            self._modules.pop(name, None)
        object.__setattr__(self, name, value)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward().")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def named_parameters(self, prefix="", remove_duplicate=True):
        """(name, parameter) pairs; a shared parameter is listed once, under its first name, as
        in torch (state_dict keeps every name: remove_duplicate=False)."""
        seen = set()
        for name, p in self._all_named_parameters(prefix):
            if not remove_duplicate or id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _all_named_parameters(self, prefix):
        for name, p in self._parameters.items():
            yield prefix + name, p
        for name, module in self._modules.items():
            yield from module._all_named_parameters(prefix + name + ".")

    def parameters(self):
        for _, p in self.named_parameters():  # a shared parameter is trained once
            yield p

    def children(self):
        return iter(self._modules.values())

    def modules(self):
        yield self
        for child in self._modules.values():
            yield from child.modules()

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = np.zeros_like(p.grad)

    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def state_dict(self):
        return OrderedDict((name, p.data.copy())
                           for name, p in self.named_parameters(remove_duplicate=False))

    def load_state_dict(self, state):
        own = dict(self.named_parameters(remove_duplicate=False))
        missing, unexpected = own.keys() - state.keys(), state.keys() - own.keys()
        if missing or unexpected:
            raise KeyError(f"load_state_dict: missing {sorted(missing)}, unexpected {sorted(unexpected)}.")
        for name, value in state.items():
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            if value.shape != own[name].shape:
                raise ValueError(f"load_state_dict: {name} has shape {own[name].shape}, "
                                 f"got {value.shape}.")
            own[name].data = value.astype(own[name].dtype, copy=True)

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, module in self._modules.items():
            lines.append(f"  ({name}): " + repr(module).replace("\n", "\n  "))
        return lines[0] + ")" if len(lines) == 1 else "\n".join(lines) + "\n)"


class Sequential(Module):
    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            setattr(self, str(index), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index):
        return list(self._modules.values())[index]

    def __len__(self):
        return len(self._modules)
