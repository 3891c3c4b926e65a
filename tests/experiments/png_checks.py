"""Checks that a file is a valid, non-trivial PNG figure."""
import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_nontrivial_png(path) -> np.ndarray:
    """The file starts with the PNG signature, decodes, is at least 300×300 and is far from a
    single colour (many distinct colours, a good share of non-white pixels)."""
    from matplotlib import image
    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_SIGNATURE, f"{path} is not a PNG"
    pixels = image.imread(str(path))
    assert pixels.ndim == 3 and pixels.shape[0] >= 300 and pixels.shape[1] >= 300, pixels.shape
    rgb = np.round(pixels[..., :3] * 255).astype(np.int64)
    colours = np.unique(rgb.reshape(-1, 3) @ np.array([65536, 256, 1]))
    assert colours.size > 100, f"{path}: only {colours.size} colours"
    not_white = np.mean(np.any(rgb < 250, axis=-1))
    assert 0.02 < not_white < 0.9, f"{path}: {not_white:.3f} of the pixels are not white"
    return pixels
