# models/train suites: the GPT's gradients end to end, optimisers, recipes, checkpoints,
# loss curves and determinism (models/train/README.md).
bitsim_add_test(test_train SOURCES test_train.cpp LABELS models LIBS bitsim_models)
# Byte-level BPE training, BPE-tokenized corpora and checkpoints carrying their tokenizer.
bitsim_add_test(test_bpe SOURCES test_bpe.cpp LABELS models LIBS bitsim_models)
