package imageproc_test

import (
	"fmt"
	"image"
	"os"

	"github.com/hfhost/hfhost/host/preprocess/imageproc"
)

// Example shows the path a vision pipeline takes: decode with limits, load
// the model's preprocessor_config.json, and build pixel_values.
func Example() {
	f, err := os.Open("../../../testdata/images/files/rgb_333x500.jpg")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	img, err := imageproc.Decode(f, imageproc.Limits{MaxPixels: 50_000_000})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := imageproc.FromDir("../../../testdata/images/processors/clip-vit-base-patch32")
	if err != nil {
		fmt.Println(err)
		return
	}
	batch, err := p.Preprocess([]image.Image{img})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Kind, batch.Shape, batch.OriginalSizes[0])
	// Output: CLIPImageProcessor [1 3 224 224] [500 333]
}
