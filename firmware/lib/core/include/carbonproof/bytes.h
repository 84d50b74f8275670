// Hex and checksum helpers shared by the core (CRC-32 for flash records).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cp {

std::string toHex(const uint8_t* data, size_t len);
template <typename C>
std::string toHex(const C& c) { return toHex(reinterpret_cast<const uint8_t*>(c.data()), c.size()); }

// Accepts an optional "0x" prefix; false on odd length or non-hex characters.
bool fromHex(const std::string& hex, std::vector<uint8_t>& out);

// CRC-32 (IEEE 802.3, reflected 0xEDB88320), as zlib's crc32().
uint32_t crc32(const uint8_t* data, size_t len, uint32_t crc = 0);

}  // namespace cp
