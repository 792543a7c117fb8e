# models/train suites: the GPT's gradients end to end, optimisers, recipes, checkpoints,
# loss curves and determinism (models/train/README.md).
bitsim_add_test(test_train SOURCES test_train.cpp LABELS models LIBS bitsim_models)
