/* Our small tus 1.0 client: chunked, resumable uploads with a progress bar per file, retries with back-off,
   resume after a reload (found again by the file's fingerprint), cancel and delete. */
(function () {
  "use strict";
  var form = document.getElementById("uploader");
  if (!form || !window.fetch || !window.XMLHttpRequest || !window.TextEncoder) {
    return; // the plain multipart form stays in charge
  }
  var input = document.getElementById("file-input");
  var progressList = document.getElementById("upload-progress");
  var fileList = document.getElementById("file-list");
  var tokenMeta = document.querySelector("meta[name=csrf-token]");
  var serverUploads = JSON.parse(document.getElementById("resumable-uploads").textContent || "[]");
  var text = form.dataset;
  var endpoint = text.endpoint;
  var chunkSize = parseInt(text.chunkSize, 10) || 2 * 1024 * 1024;
  var STORE_KEY = "portal.uploads.v1";
  var DELAYS = [500, 1000, 2000, 4000, 8000, 15000];
  var MAX_ATTEMPTS = 40;
  var numberFormat = new Intl.NumberFormat(document.documentElement.lang || "de", {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });

  form.querySelector("[data-fallback]").hidden = true;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
  });
  input.addEventListener("change", function () {
    Array.prototype.forEach.call(input.files, function (file) {
      new Upload(file).start();
    });
    input.value = "";
  });

  function headers(extra) {
    var all = { "Tus-Resumable": "1.0.0", "X-CSRFToken": tokenMeta ? tokenMeta.content : "" };
    Object.keys(extra || {}).forEach(function (key) {
      all[key] = extra[key];
    });
    return all;
  }

  function fingerprint(file) {
    return ["tus", file.name, file.type, file.size, file.lastModified].join("|");
  }

  function stored() {
    try {
      return JSON.parse(window.localStorage.getItem(STORE_KEY) || "{}");
    } catch (error) {
      return {};
    }
  }

  function remember(key, url) {
    var all = stored();
    all[key] = url;
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify(all));
    } catch (error) {
      // Private mode: resuming after a reload then relies on the server's list.
    }
  }

  function forget(key) {
    var all = stored();
    delete all[key];
    try {
      window.localStorage.setItem(STORE_KEY, JSON.stringify(all));
    } catch (error) {
      // nothing to forget
    }
  }

  function base64(value) {
    var binary = "";
    new TextEncoder().encode(value).forEach(function (byte) {
      binary += String.fromCharCode(byte);
    });
    return window.btoa(binary);
  }

  function megabytes(bytes) {
    return numberFormat.format(bytes / (1024 * 1024)) + " MB";
  }

  function messageOf(body, fallback) {
    try {
      return JSON.parse(body).message || fallback;
    } catch (error) {
      return fallback;
    }
  }

  function refreshFileList() {
    fetch(fileList.dataset.url, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response);
      })
      .then(function (html) {
        fileList.innerHTML = html;
      })
      .catch(function () {
        // The list refreshes with the next page load.
      });
  }

  function Upload(file) {
    this.file = file;
    this.key = fingerprint(file);
    this.url = null;
    this.offset = 0;
    this.attempt = 0;
    this.timer = null;
    this.xhr = null;
    this.cancelled = false;
    this.row = document.createElement("li");
    this.row.className = "upload-item";
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name + " ";
    this.bar = document.createElement("progress");
    this.bar.max = 100;
    this.bar.value = 0;
    this.bar.setAttribute("aria-label", file.name);
    this.label = document.createElement("span");
    this.label.className = "upload-text";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "link-button upload-cancel";
    cancel.textContent = text.msgCancel;
    cancel.addEventListener("click", this.cancel.bind(this));
    this.cancelButton = cancel;
    this.row.append(name, this.bar, this.label, " ", cancel);
    progressList.append(this.row);
    this.onOnline = this.resumeNow.bind(this);
    window.addEventListener("online", this.onOnline);
  }

  Upload.prototype.state = function (state, message) {
    this.row.dataset.state = state;
    this.row.classList.toggle("is-error", state === "error");
    if (message !== undefined) {
      this.label.textContent = message;
    }
  };

  Upload.prototype.progress = function (sent) {
    var size = this.file.size;
    var percent = size ? Math.floor((sent / size) * 100) : 100;
    this.bar.value = percent;
    this.row.dataset.percent = String(percent);
    this.label.textContent = percent + " % · " + megabytes(sent) + " " + text.msgOf + " " + megabytes(size);
  };

  Upload.prototype.start = function () {
    this.state("uploading");
    this.progress(0);
    var known = stored()[this.key];
    var key = this.key;
    if (!known) {
      serverUploads.forEach(function (upload) {
        if (upload.fingerprint === key) {
          known = upload.url;
        }
      });
    }
    if (known) {
      this.url = known;
      this.resume();
    } else {
      this.create();
    }
  };

  Upload.prototype.create = function () {
    var self = this;
    fetch(endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: headers({
        "Upload-Length": String(this.file.size),
        "Upload-Metadata": "filename " + base64(this.file.name) + ",fingerprint " + base64(this.key),
      }),
    })
      .then(function (response) {
        if (response.status === 201) {
          self.url = response.headers.get("Location");
          remember(self.key, self.url);
          self.offset = 0;
          self.send();
          return null;
        }
        return response.text().then(function (body) {
          if (response.status >= 500) {
            self.retry(self.create.bind(self), messageOf(body, text.msgWaiting));
          } else {
            self.fail(messageOf(body, text.msgFailed));
          }
        });
      })
      .catch(function () {
        self.retry(self.create.bind(self));
      });
  };

  /* Ask the server where this upload stands (after a reload, a dropped connection or a conflict). */
  Upload.prototype.resume = function () {
    var self = this;
    if (this.cancelled) {
      return;
    }
    fetch(this.url, { method: "HEAD", credentials: "same-origin", cache: "no-store", headers: headers() })
      .then(function (response) {
        if (response.ok) {
          self.offset = parseInt(response.headers.get("Upload-Offset"), 10) || 0;
          self.progress(self.offset);
          self.send();
        } else if (response.status === 404 || response.status === 410) {
          forget(self.key);
          self.url = null;
          self.create();
        } else if (response.status >= 500 || response.status === 423) {
          self.retry(self.resume.bind(self));
        } else {
          self.fail(text.msgFailed);
        }
      })
      .catch(function () {
        self.retry(self.resume.bind(self));
      });
  };

  Upload.prototype.send = function () {
    var self = this;
    if (this.cancelled) {
      return;
    }
    this.state("uploading");
    var start = this.offset;
    var chunk = this.file.slice(start, Math.min(start + chunkSize, this.file.size));
    var xhr = new XMLHttpRequest();
    this.xhr = xhr;
    xhr.open("PATCH", this.url);
    var all = headers({ "Upload-Offset": String(start), "Content-Type": "application/offset+octet-stream" });
    Object.keys(all).forEach(function (key) {
      xhr.setRequestHeader(key, all[key]);
    });
    xhr.upload.onprogress = function (event) {
      self.progress(start + event.loaded);
    };
    xhr.onload = function () {
      self.xhr = null;
      var status = xhr.status;
      if (status === 204) {
        self.attempt = 0;
        self.offset = parseInt(xhr.getResponseHeader("Upload-Offset"), 10);
        self.progress(self.offset);
        if (xhr.getResponseHeader("Upload-Complete") === "1") {
          self.done();
        } else {
          self.send();
        }
      } else if (status === 409) {
        self.resume();
      } else if (status === 423 || status >= 500) {
        // 503/507: the server could not store the bytes now; its message says so, and we try again later.
        self.retry(self.resume.bind(self), messageOf(xhr.responseText, text.msgWaiting));
      } else {
        forget(self.key);
        self.fail(messageOf(xhr.responseText, text.msgFailed));
        refreshFileList();
      }
    };
    xhr.onerror = xhr.ontimeout = function () {
      self.xhr = null;
      self.retry(self.resume.bind(self));
    };
    xhr.send(chunk);
  };

  /* Back off and try again; going online again retries at once. */
  Upload.prototype.retry = function (action, message) {
    if (this.cancelled) {
      return;
    }
    this.attempt += 1;
    if (this.attempt > MAX_ATTEMPTS) {
      this.fail(message || text.msgFailed);
      return;
    }
    this.state("waiting", message || text.msgWaiting);
    this.pending = action;
    var delay = DELAYS[Math.min(this.attempt - 1, DELAYS.length - 1)];
    this.timer = window.setTimeout(this.resumeNow.bind(this), delay);
  };

  Upload.prototype.resumeNow = function () {
    if (!this.pending || this.cancelled) {
      return;
    }
    window.clearTimeout(this.timer);
    var action = this.pending;
    this.pending = null;
    this.state("uploading", text.msgResumed);
    action();
  };

  Upload.prototype.done = function () {
    forget(this.key);
    this.bar.value = 100;
    this.state("done", this.file.name + ": " + text.msgDone);
    this.cancelButton.remove();
    window.removeEventListener("online", this.onOnline);
    refreshFileList();
  };

  Upload.prototype.fail = function (message) {
    this.bar.hidden = true;
    this.state("error", message);
    this.cancelButton.remove();
    window.removeEventListener("online", this.onOnline);
  };

  Upload.prototype.cancel = function () {
    this.cancelled = true;
    window.clearTimeout(this.timer);
    if (this.xhr) {
      this.xhr.abort();
    }
    forget(this.key);
    window.removeEventListener("online", this.onOnline);
    this.row.remove();
    if (this.url) {
      fetch(this.url, { method: "DELETE", credentials: "same-origin", headers: headers() }).then(
        refreshFileList,
        refreshFileList
      );
    }
  };
})();
