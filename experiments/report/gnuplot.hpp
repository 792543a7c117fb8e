#pragma once
// Running gnuplot as a subprocess on a script we generate.
#include <filesystem>
#include <optional>
#include <string>

namespace bitsim::experiments::report {

// $BITSIM_GNUPLOT if set (an empty value disables plots), else `gnuplot` on the PATH.
std::optional<std::filesystem::path> find_gnuplot();

// "pngcairo" (antialiased) when this gnuplot has it, else "png" (libgd).
std::string png_terminal(const std::filesystem::path& gnuplot);

// Runs `gnuplot script` in the script's folder; throws std::runtime_error with gnuplot's
// messages when it fails.
void run_gnuplot(const std::filesystem::path& gnuplot, const std::filesystem::path& script);

// `text` as a single-quoted gnuplot string ('' stands for a quote inside).
std::string gnuplot_quote(const std::string& text);

}  // namespace bitsim::experiments::report
