"""Write tests/data/pow_torch_table.json: PyTorch's values and gradients of ``a ** b``.

tests/test_engine_edges.py checks minigrad's pow against this table. It needs PyTorch (CPU is
enough) and nothing from minigrad; the stored table was made with torch 2.13.0+cpu by

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install numpy torch
    /tmp/tv/bin/python tests/data/make_pow_table.py

For every base a and exponent b of the grid below, in float64:

* "tensor": y = a ** b with both a tensor, and dy/da, dy/db from autograd;
* "constant": y = a ** b with b a Python float, and dy/da.

NaN and infinities are written as JSON's usual extensions (NaN, Infinity, -Infinity), which
Python's json module reads back.
"""

import json
import pathlib

import torch

BASES = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]
EXPONENTS = [-2.0, -1.0, -0.5, 0.0, 0.3, 0.5, 1.0, 2.0, 3.0]


def tensor_exponent(a, b):
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    y = ta**tb
    ga, gb = torch.autograd.grad(y, [ta, tb])
    return {"a": a, "b": b, "y": y.item(), "da": ga.item(), "db": gb.item()}


def constant_exponent(a, b):
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    y = ta**b
    (ga,) = torch.autograd.grad(y, [ta])
    return {"a": a, "b": b, "y": y.item(), "da": ga.item()}


def main():
    table = {
        "source": f"PyTorch {torch.__version__}, float64, by tests/data/make_pow_table.py",
        "tensor": [tensor_exponent(a, b) for a in BASES for b in EXPONENTS],
        "constant": [constant_exponent(a, b) for a in BASES for b in EXPONENTS],
    }
    out = pathlib.Path(__file__).with_name("pow_torch_table.json")
    rows = {k: ",\n  ".join(json.dumps(r) for r in table[k]) for k in ("tensor", "constant")}
    out.write_text(
        f'{{"source": {json.dumps(table["source"])},\n'
        f' "tensor": [\n  {rows["tensor"]}\n ],\n'
        f' "constant": [\n  {rows["constant"]}\n ]}}\n'
    )
    print(f"wrote {out}: {len(table['tensor'])} + {len(table['constant'])} rows")


if __name__ == "__main__":
    main()
