package tokenizer

import "errors"

func LoadMarian(dir string) (Tokenizer, error) {
	return nil, errors.New("SentencePiece models are not supported yet")
}
func LoadSentencePiece(path string) (Tokenizer, error) {
	return nil, errors.New("SentencePiece models are not supported yet")
}
