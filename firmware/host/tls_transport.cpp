#include "tls_transport.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <unistd.h>

namespace cp::host {

struct TlsTransport::Impl {
  mbedtls_net_context net;
  mbedtls_ssl_context ssl;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  bool open = false;
  Impl() {
    mbedtls_net_init(&net);
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_config_init(&conf);
    mbedtls_x509_crt_init(&ca);
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
  }
  ~Impl() {
    mbedtls_net_free(&net);
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
};

namespace {
std::string mbedErr(const char* what, int rc) {
  char buf[160];
  mbedtls_strerror(rc, buf, sizeof buf);
  return std::string(what) + ": " + buf;
}
}  // namespace

TlsTransport::TlsTransport(std::string caFile) : caFile_(std::move(caFile)) {}
TlsTransport::~TlsTransport() { close(); }

bool TlsTransport::open(const std::string& host, uint16_t port) {
  close();
  impl_ = std::make_unique<Impl>();
  Impl& t = *impl_;
  static const char pers[] = "carbonproof-host-tls";
  int rc;
  if ((rc = mbedtls_ctr_drbg_seed(&t.drbg, mbedtls_entropy_func, &t.entropy,
                                  reinterpret_cast<const unsigned char*>(pers), sizeof pers - 1)) != 0)
    return err_ = mbedErr("rng", rc), false;
  if ((rc = mbedtls_x509_crt_parse_file(&t.ca, caFile_.c_str())) != 0)
    return err_ = mbedErr(("CA file " + caFile_).c_str(), rc), false;
  if ((rc = mbedtls_net_connect(&t.net, host.c_str(), std::to_string(port).c_str(), MBEDTLS_NET_PROTO_TCP)) != 0)
    return err_ = mbedErr("connect", rc), false;
  mbedtls_ssl_config_defaults(&t.conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  mbedtls_ssl_conf_authmode(&t.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&t.conf, &t.ca, nullptr);
  mbedtls_ssl_conf_rng(&t.conf, mbedtls_ctr_drbg_random, &t.drbg);
  mbedtls_ssl_conf_min_version(&t.conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);  // TLS 1.2+
  if ((rc = mbedtls_ssl_setup(&t.ssl, &t.conf)) != 0) return err_ = mbedErr("ssl setup", rc), false;
  mbedtls_ssl_set_hostname(&t.ssl, host.c_str());
  mbedtls_ssl_set_bio(&t.ssl, &t.net, mbedtls_net_send, mbedtls_net_recv, nullptr);
  while ((rc = mbedtls_ssl_handshake(&t.ssl)) != 0) {
    if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) {
      err_ = mbedErr("TLS handshake", rc);
      impl_.reset();
      return false;
    }
  }
  mbedtls_net_set_nonblock(&t.net);
  t.open = true;
  return true;
}

bool TlsTransport::write(const uint8_t* data, size_t len) {
  if (!impl_ || !impl_->open) return false;
  size_t off = 0;
  while (off < len) {
    int n = mbedtls_ssl_write(&impl_->ssl, data + off, len - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n == MBEDTLS_ERR_SSL_WANT_WRITE || n == MBEDTLS_ERR_SSL_WANT_READ) {
      usleep(1000);
    } else {
      err_ = mbedErr("TLS write", n);
      return false;
    }
  }
  return true;
}

int TlsTransport::read(uint8_t* buf, size_t cap) {
  if (!impl_ || !impl_->open) return -1;
  int n = mbedtls_ssl_read(&impl_->ssl, buf, cap);
  if (n > 0) return n;
  if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
  return -1;  // 0 = closed, or an error
}

void TlsTransport::close() {
  if (impl_ && impl_->open) mbedtls_ssl_close_notify(&impl_->ssl);
  impl_.reset();
}

}  // namespace cp::host
