"""Read a legacy (pre-1.6, non-zip) PyTorch checkpoint into numpy arrays without torch.

Layout of that format: pickle(magic) pickle(protocol) pickle(sys_info) pickle(state_dict with
persistent ids for storages) pickle(storage keys), then each storage as int64 element count + raw bytes.
"""
import collections
import pickle
import struct

import numpy as np

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ByteStorage": np.uint8,
}


class _StorageType:
    def __init__(self, name):
        self.dtype = _DTYPES[name]


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected class {module}.{name} in checkpoint")

    def persistent_load(self, pid):
        _tag, storage_type, key, _location, _size, view = pid
        assert view is None, "storage views are not supported"
        entry = self.storages.setdefault(key, {"dtype": storage_type.dtype, "data": None})
        return (key, self.storages)


def _rebuild_tensor(storage, offset, size, stride, *_rest):
    key, storages = storage
    return ("tensor", key, storages, offset, tuple(size), tuple(stride))


def load(path):
    storages = {}
    with open(path, "rb") as f:
        for _ in range(3):
            pickle.load(f)
        state = _Unpickler(f, storages).load()
        keys = pickle.load(f)
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            dtype = storages[key]["dtype"]
            storages[key]["data"] = np.frombuffer(f.read(count * np.dtype(dtype).itemsize), dtype=dtype)
    out = collections.OrderedDict()
    for name, (_, key, stor, offset, size, stride) in state.items():
        data = stor[key]["data"]
        itemsize = data.dtype.itemsize
        arr = np.lib.stride_tricks.as_strided(
            data[offset:], shape=size, strides=tuple(s * itemsize for s in stride)
        )
        out[name] = np.array(arr)
    return out
