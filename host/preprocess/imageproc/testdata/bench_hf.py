"""Times HF's slow image processors on the 1024x768 JPEG fixture: PIL decode (Image.open,
exif_transpose, convert("RGB"), as transformers.image_utils.load_image does) + processor call.
Prints one line per processor: name, median and min wall ms, median CPU ms (process_time) over N runs. Run from the repository root
with the fixture venv: see host/preprocess/imageproc/BENCHMARKS.md."""
import io
import statistics
import sys
import time

from PIL import Image, ImageOps
from transformers import AutoImageProcessor  # noqa: F401  (import cost outside the timing)
from transformers import CLIPImageProcessor, ViTImageProcessor

root = "testdata/images"
data = open(f"{root}/files/rgb_1024x768.jpg", "rb").read()
n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
for name, cls in (("vit-base-patch16-224", ViTImageProcessor), ("clip-vit-base-patch32", CLIPImageProcessor)):
    proc = cls.from_pretrained(f"{root}/processors/{name}")
    times, cpus = [], []
    for i in range(n + 3):
        c0 = time.process_time()
        t0 = time.perf_counter()
        im = Image.open(io.BytesIO(data))
        im = ImageOps.exif_transpose(im).convert("RGB")
        out = proc(images=im, return_tensors="np")
        t1 = time.perf_counter()
        c1 = time.process_time()
        assert out["pixel_values"].shape == (1, 3, 224, 224)
        if i >= 3:
            times.append((t1 - t0) * 1e3)
            cpus.append((c1 - c0) * 1e3)
    print(f"python {name} median_ms={statistics.median(times):.3f} min_ms={min(times):.3f} "
          f"median_cpu_ms={statistics.median(cpus):.3f} runs={n}")
