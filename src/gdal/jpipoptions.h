/******************************************************************************
 * Project:  Pipit
 * Purpose:  The JPIP driver's open options and GDAL's HTTP configuration
 *           options mapped to the Pipit client's options.
 ****************************************************************************/
#ifndef JPIPOPTIONS_H_INCLUDED
#define JPIPOPTIONS_H_INCLUDED

#include <string>
#include <vector>

#include "cpl_port.h"
#include "pipit/client.hpp"

// The client options for opening pszFilename: each open option of
// papszOpenOptions, else its configuration option (JPIP_*), else the
// default; the transport from GDAL's HTTP configuration options (GDAL_HTTP_*,
// path-specific ones included), as /vsicurl/ reads them.
pipit::client::client_options JPIPClientOptions(const char *pszFilename,
                                                CSLConstList papszOpenOptions);

// GDAL_HTTP_HEADERS: "Name: value" items separated by CRLF or by commas; an
// item holding a comma or a double quote is written in double quotes, with
// backslash escapes for \ and ".
std::vector<std::string> JPIPSplitHeaders(const char *pszHeaders);

// STREAM_TYPE (config JPIP_STREAM_TYPE): "JPP" (the default) or "JPT", as
// given (the caller refuses anything else).
const char *JPIPStreamType(CSLConstList papszOpenOptions);
// A subdataset name "JPIP:N:url" (codestream N of the target at url, as the
// SUBDATASETS domain lists them): true, with osURL and nStream set. False for
// anything else (a plain jpip:// URL among them).
bool JPIPParseSubdatasetName(const char *pszName, std::string &osURL,
                             std::uint32_t &nStream);

// The subdataset name of codestream nStream of the target at pszURL.
std::string JPIPSubdatasetName(const char *pszURL, std::uint32_t nStream);

// "134217728", "128MB", "1GB", "512KB": bytes (a negative or bad value: 0).
std::uint64_t JPIPParseByteSize(const char *pszValue);

#endif
