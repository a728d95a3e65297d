package main

import (
	"fmt"
	"math"

	"github.com/attn-dev/attn/infer"
	"github.com/spf13/cobra"
)

func init() {
	var dir, trunc, text, img string
	var dtype dtypeFlag
	var k int
	var asJSON bool
	cmd := &cobra.Command{
		Use: "classify --model DIR (--text TEXT | --image FILE)",
		Example: `  attn classify --model testdata/models/vit --image testdata/infer/up.png
  attn pull textattack/bert-base-uncased-SST-2
  attn classify --model textattack/bert-base-uncased-SST-2 --text "A joy from start to finish." --json`,
		Short: "Classify a text (BERT) or an image (ViT)",
		Long: `classify runs a classification model and prints its labels (id2label of
config.json) by probability. With --text the model is a sequence classifier
(BertForSequenceClassification); with --image a PNG or JPEG is resized with
PIL's bilinear filter, rescaled and normalised as preprocessor_config.json
says (ViTImageProcessor; defaults: the model's image_size, 1/255, mean and std
0.5) and classified by ViTForImageClassification.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (text == "") == (img == "") {
				return fmt.Errorf("classify needs exactly one of --text and --image")
			}
			if err := intRange("top-k", k, 0, math.MaxInt); err != nil {
				return err
			}
			t, err := loadTask(dir, trunc, &dtype)
			if err != nil {
				return err
			}
			defer t.Close()
			var labels []infer.Label
			if img != "" {
				p, err := infer.LoadImageProcessor(dir, t.Model)
				if err != nil {
					return err
				}
				im, err := infer.DecodeImage(img)
				if err != nil {
					return err
				}
				if labels, err = infer.ClassifyImage(t.Model, p, im); err != nil {
					return err
				}
			} else {
				res, err := t.ClassifyTexts([]string{text})
				if err != nil {
					return contextHint(err)
				}
				labels = res[0]
			}
			if k > 0 && k < len(labels) {
				labels = labels[:k]
			}
			if asJSON {
				return printJSON(cmd, map[string]any{"labels": labels})
			}
			for _, l := range labels {
				fmt.Fprintf(cmd.OutOrStdout(), "%-24s %.4f\n", l.Label, l.Prob)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "checkpoint directory")
	dtype.register(cmd.Flags())
	cmd.Flags().StringVar(&text, "text", "", "text to classify")
	cmd.Flags().StringVar(&img, "image", "", "PNG or JPEG image to classify")
	cmd.Flags().IntVar(&k, "top-k", 0, "print only the k most likely labels (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"labels": [{"id", "label", "prob"}]}`)
	registerTruncate(cmd, &trunc)
	_ = cmd.MarkFlagRequired("model")
	rootCmd.AddCommand(cmd)
}
