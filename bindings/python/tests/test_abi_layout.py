"""The ctypes structs of the binding match the C header byte for byte."""
import ctypes
import shutil
import subprocess

import pytest

from conftest import ROOT

STRUCTS = {
    "sw_step_info": "StepInfo", "sw_layer": "Layer", "sw_host": "Host", "sw_option": "Option", "sw_option_info": "OptionInfo",
    "sw_policy_def": "PolicyDef", "sw_plugin": None, "sw_progress": "Progress", "sw_epoch_result": "EpochResult",
    "sw_layer_density": "LayerDensity", "sw_layer_buffers": "LayerBuffers",
}


def test_struct_sizes_and_offsets_match_the_header(tmp_path, sw):
    from sparsewire import _abi
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler")
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "sparsewire.h"', "int main(void) {"]
    for c_name, py_name in STRUCTS.items():
        if py_name is None:
            continue
        t = getattr(_abi, py_name)
        lines.append(f'printf("{c_name} %zu\\n", sizeof({c_name}));')
        for field, _ in t._fields_:
            lines.append(f'printf("{c_name}.{field} %zu\\n", offsetof({c_name}, {field}));')
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines))
    subprocess.run([cc, "-std=c11", f"-I{ROOT / 'Include'}", str(src), "-o", str(tmp_path / "layout")], check=True)
    out = subprocess.run([str(tmp_path / "layout")], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        key, value = line.split()
        c_name, _, field = key.partition(".")
        t = getattr(_abi, STRUCTS[c_name])
        got = getattr(t, field).offset if field else ctypes.sizeof(t)
        assert got == int(value), f"{key}: ctypes {got}, C {value}"
