package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/attn-dev/attn/tokenizer"
)

func ExampleLoad() {
	tok, err := tokenizer.Load("../testdata/tokenizer/bert")
	if err != nil {
		log.Fatal(err)
	}
	second := "It is fine."
	e, err := tokenizer.EncodeInput(tok, "Hello, World!", &second, tokenizer.EncodeOptions{AddSpecial: true, PadTo: 14})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Tokens)
	fmt.Println(e.IDs)
	fmt.Println(e.TypeIDs)
	fmt.Println(e.AttentionMask)
	// Output:
	// [[CLS] hello , world ! [SEP] it is fine . [SEP] [PAD] [PAD] [PAD]]
	// [101 7592 1010 2088 999 102 2009 2003 2986 1012 102 0 0 0]
	// [0 0 0 0 0 0 1 1 1 1 1 0 0 0]
	// [1 1 1 1 1 1 1 1 1 1 1 0 0 0]
}

func ExampleBPE_EncodeOrdinary() {
	tok, err := tokenizer.LoadBPEFiles("../testdata/tokenizer/gpt2/encoder.json", "../testdata/tokenizer/gpt2/vocab.bpe")
	if err != nil {
		log.Fatal(err)
	}
	ids, _ := tok.Encode("hello <|endoftext|>", false)
	fmt.Println(ids, tok.EncodeOrdinary("hello <|endoftext|>"))
	text, _ := tok.Decode(ids, false)
	fmt.Printf("%q\n", text)
	// Output:
	// [31373 220 50256] [31373 1279 91 437 1659 5239 91 29]
	// "hello <|endoftext|>"
}
