# models/train suites: the GPT's gradients end to end, optimisers, recipes, checkpoints,
# loss curves and determinism (models/train/README.md).
bitsim_add_test(test_train SOURCES test_train.cpp LABELS models LIBS bitsim_models)
# Byte-level BPE training, BPE-tokenized corpora and checkpoints carrying their tokenizer.
bitsim_add_test(test_bpe SOURCES test_bpe.cpp LABELS models LIBS bitsim_models)
# Quantized operands reused across a linear layer's GEMMs change no bit (every recipe, 3 steps).
bitsim_add_test(test_train_recipe_reuse SOURCES test_train_recipe_reuse.cpp LABELS models LIBS bitsim_models)
# The numerics options gelu: tanh_f32 and attention: blas (against the defaults, resumption, names).
bitsim_add_test(test_train_numerics_options SOURCES test_train_numerics_options.cpp LABELS models LIBS bitsim_models)
