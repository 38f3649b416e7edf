"""Where the IMDB data comes from: loaders, the word index, decoding."""
