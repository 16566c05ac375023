"""Tests of mstl_lib.data.images: every colour mode, resizing, masks and broken files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from mstl_lib.data.images import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    image_shape,
    is_image_file,
    read_image,
    read_mask,
    write_image,
)

H, W = 6, 8


def _gradient(dtype=np.uint8, top=255):
    return (np.arange(H * W).reshape(H, W) * top // (H * W - 1)).astype(dtype)


def _write(path, mode):
    """Write a small H x W image of ``mode``; return the expected grey max in [0, 1]."""
    if mode == "L":
        Image.fromarray(_gradient()).save(path)
    elif mode == "RGB":
        Image.fromarray(np.dstack([_gradient()] * 3)).save(path)
    elif mode == "RGBA":
        rgba = np.dstack([_gradient()] * 3 + [np.full((H, W), 255, np.uint8)])
        rgba[0, 0, 3] = 0  # a transparent pixel composites to black
        Image.fromarray(rgba).save(path)
    elif mode == "P":
        Image.fromarray(np.dstack([_gradient()] * 3)).convert("P").save(path)
    elif mode == "1":
        Image.fromarray(_gradient() > 127).convert("1").save(path)
    elif mode == "I;16":
        Image.fromarray(_gradient(np.uint16, 65535)).save(path)
    elif mode == "I;16B":
        big_endian = _gradient(np.uint16, 65535).astype(">u2").tobytes()
        Image.frombytes("I;16B", (W, H), big_endian).save(path)
    elif mode == "I":
        Image.fromarray(_gradient(np.int32, 65535)).save(path)
    elif mode == "F":
        Image.fromarray(np.linspace(0, 1, H * W, dtype=np.float32).reshape(H, W)).save(path)
    else:
        raise AssertionError(mode)


MODES = [
    ("L", "png"), ("RGB", "png"), ("RGB", "jpg"), ("RGB", "bmp"), ("RGBA", "png"),
    ("P", "png"), ("1", "png"), ("I;16", "png"), ("I;16B", "tif"), ("I", "tif"), ("F", "tif"),
]


@pytest.mark.parametrize(("mode", "ext"), MODES)
@pytest.mark.parametrize("channels", [1, 3])
def test_read_image_every_mode_float(tmp_path, mode, ext, channels):
    path = tmp_path / f"img.{ext}"
    _write(path, mode)
    arr = read_image(path, channels=channels)
    assert arr.shape == (H, W, channels)
    assert arr.dtype == np.float32
    assert 0.0 <= arr.min() and arr.max() <= 1.0
    assert arr.max() > 0.9  # full-scale data reach ~1, whatever the bit depth
    if mode == "RGBA":
        assert np.all(arr[0, 0] == 0)


@pytest.mark.parametrize(("mode", "ext"), MODES)
def test_read_image_uint8(tmp_path, mode, ext):
    path = tmp_path / f"img.{ext}"
    _write(path, mode)
    arr = read_image(path, dtype="uint8")
    assert arr.dtype == np.uint8 and arr.shape == (H, W, 3)
    assert arr.max() >= 240  # JPEG rounding may lose a few levels


def test_uint8_is_lossless_for_8_bit_grey(tmp_path):
    path = tmp_path / "grey.png"
    _write(path, "L")
    np.testing.assert_array_equal(read_image(path, channels=1, dtype="uint8")[..., 0], _gradient())


def test_float_tiff_outside_unit_range_is_rescaled(tmp_path):
    path = tmp_path / "f.tif"
    Image.fromarray(np.linspace(-5, 20, H * W, dtype=np.float32).reshape(H, W)).save(path)
    arr = read_image(path, channels=1)
    assert arr.min() == 0.0 and arr.max() == pytest.approx(1.0)


def test_16_bit_scaled_by_type_max_not_image_max(tmp_path):
    path = tmp_path / "dim.png"
    Image.fromarray(np.full((H, W), 1000, np.uint16)).save(path)
    assert read_image(path, channels=1)[0, 0, 0] == pytest.approx(1000 / 65535)


@pytest.mark.parametrize(
    ("size", "expected"), [(4, (4, 4)), ((3, 5), (3, 5)), ((12, 16), (12, 16))]
)
def test_read_image_resize(tmp_path, size, expected):
    path = tmp_path / "img.png"
    _write(path, "RGB")
    arr = read_image(path, size=size)
    assert arr.shape == (*expected, 3)
    assert 0.0 <= arr.min() and arr.max() <= 1.0


def test_read_image_rejects_bad_arguments(tmp_path):
    path = tmp_path / "img.png"
    _write(path, "L")
    with pytest.raises(ValueError, match="channels"):
        read_image(path, channels=2)
    with pytest.raises(ValueError, match="dtype"):
        read_image(path, dtype="float16")


def _zero_byte(path):
    path.write_bytes(b"")


def _text(path):
    path.write_text("this is not an image\n")


def _truncated_png(path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _jpeg_bytes():
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def _truncated_jpeg(path):
    data = _jpeg_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt_jpeg_header(path):
    path.write_bytes(_jpeg_bytes()[:200] + b"\xff\xd9")  # cut inside the header tables


@pytest.mark.parametrize(
    ("name", "make", "problem"),
    [
        ("empty.png", _zero_byte, "zero-byte"),
        ("notes.png", _text, "not an image"),
        ("cut.png", _truncated_png, "truncated or corrupt"),
        ("cut.jpg", _truncated_jpeg, "truncated or corrupt"),
        ("broken.jpg", _corrupt_jpeg_header, "truncated or corrupt"),
    ],
)
def test_broken_files_raise_image_read_error_naming_the_file(tmp_path, name, make, problem):
    path = tmp_path / name
    make(path)
    with pytest.raises(ImageReadError, match=problem) as info:
        read_image(path)
    assert str(path) in str(info.value)
    with pytest.raises(ImageReadError) as info:
        read_mask(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("name", "make"), [("empty.png", _zero_byte), ("notes.png", _text)])
def test_image_shape_errors(tmp_path, name, make):
    path = tmp_path / name
    make(path)
    with pytest.raises(ImageReadError, match=str(path).replace("\\", "\\\\")):
        image_shape(path)


def test_missing_file_is_file_not_found(tmp_path):
    path = tmp_path / "nope.png"
    for reader in (read_image, image_shape, read_mask):
        with pytest.raises(FileNotFoundError, match="nope.png"):
            reader(path)


def test_image_shape_reads_header(tmp_path):
    path = tmp_path / "img.png"
    _write(path, "RGB")
    assert image_shape(path) == (H, W)


def test_read_mask_union_of_modes(tmp_path):
    a = np.zeros((H, W), bool)
    a[1, 1] = True
    b = np.zeros((H, W, 3), np.uint8)
    b[2, 3] = (255, 255, 255)
    Image.fromarray(a).convert("1").save(tmp_path / "x_mask.png")
    Image.fromarray(b).save(tmp_path / "x_mask_1.png")
    union = read_mask([tmp_path / "x_mask.png", tmp_path / "x_mask_1.png"])
    assert union.dtype == bool and union.shape == (H, W)
    assert union.sum() == 2 and union[1, 1] and union[2, 3]
    assert read_mask(tmp_path / "x_mask.png").sum() == 1
    assert read_mask([tmp_path / "x_mask_1.png"], size=(2 * H, 2 * W)).sum() == 4


def test_read_mask_ignores_jpeg_noise(tmp_path):
    mask = np.zeros((32, 32), np.uint8)
    mask[8:24, 8:24] = 255
    Image.fromarray(mask).save(tmp_path / "m.jpg", quality=75)
    got = read_mask(tmp_path / "m.jpg")
    assert abs(int(got.sum()) - 16 * 16) < 20


def test_read_mask_errors(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        read_mask([])
    Image.new("L", (4, 4)).save(tmp_path / "a.png")
    Image.new("L", (5, 4)).save(tmp_path / "b.png")
    with pytest.raises(ValueError, match="b.png"):
        read_mask([tmp_path / "a.png", tmp_path / "b.png"])


def test_is_image_file():
    assert all(is_image_file(f"x{ext.upper()}") for ext in IMAGE_EXTENSIONS)
    assert not is_image_file("notes.txt")


@pytest.mark.parametrize(("dtype", "ext"), [(np.uint8, ".png"), (np.uint16, ".png"), (np.uint8, ".jpg")])
def test_write_image_round_trips_a_png_exactly(tmp_path, dtype, ext):
    array = np.random.default_rng(0).integers(0, 200, (H, W)).astype(dtype)
    path = tmp_path / f"x{ext}"
    write_image(array, path, **({"quality": 95} if ext == ".jpg" else {}))
    back = np.asarray(Image.open(path))
    assert back.shape == (H, W)
    if ext == ".png":  # lossless at any compression level
        assert np.array_equal(back, array)
