// Writing an appliance manifest (appliance.xml, format v1) from a Manifest: the inverse of
// parse_manifest, element order and spelling as xml-templates/appliance.rng fixes them.
#pragma once

#include "bundle/manifest.hpp"

#include <string>

namespace appshare {

// The manifest as XML text (UTF-8, indented, sizes in bytes). Writes what `m` holds without
// judging it: parse_manifest on the result is the check (bundle_writer does exactly that).
// Omits what has its default: <context> when the overlay size equals the virtual size,
// <sources>, <boot> and <cloud-init> when empty.
[[nodiscard]] std::string render_manifest(const Manifest& m);

}  // namespace appshare
