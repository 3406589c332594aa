/* The upload page's behaviour around tus-js-client (vendored under static/vendor/tus-js-client/): one row per
   file in the page's file list with progress, retries with the shared back-off, resume after a reload (the
   file's fingerprint finds the upload again), cancel, and drag and drop. The plain form stays for browsers
   without JavaScript. */
(function () {
  "use strict";
  var form = document.getElementById("uploader");
  if (!form || !window.tus || !window.tus.isSupported || !window.Portal) {
    return; // the plain multipart form stays in charge
  }
  var input = document.getElementById("file-input");
  var dropzone = document.getElementById("dropzone");
  var progressList = document.getElementById("upload-progress");
  var fileList = document.getElementById("file-list");
  var serverUploads = JSON.parse(document.getElementById("resumable-uploads").textContent || "[]");
  var text = form.dataset;
  var chunkSize = parseInt(text.chunkSize, 10) || 2 * 1024 * 1024;
  var MAX_RETRIES = 40;
  var language = document.documentElement.lang || "de";
  var megabyteFormat = new Intl.NumberFormat(language, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var kilobyteFormat = new Intl.NumberFormat(language, { maximumFractionDigits: 0 });

  form.querySelector("[data-fallback]").hidden = true;
  // The native file button speaks the browser's language ("Choose Files"): the page's own labelled button
  // stands in for it (the input stays focusable, only visually hidden).
  dropzone.classList.add("is-enhanced");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
  });
  input.addEventListener("change", function () {
    startAll(input.files);
    input.value = "";
  });
  dropzone.addEventListener("dragover", function (event) {
    event.preventDefault();
    dropzone.classList.add("is-dragover");
  });
  dropzone.addEventListener("dragleave", function () {
    dropzone.classList.remove("is-dragover");
  });
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    dropzone.classList.remove("is-dragover");
    startAll(event.dataTransfer.files);
  });

  /* For the photo pages (js/photo_pages.js): upload one file with hooks for its progress, success and failure. */
  window.PortalUploads = {
    upload: function (file, hooks) {
      var row = new Row(file, hooks);
      row.start();
      return row;
    },
    refresh: refreshFileList,
    sizeText: sizeText,
  };

  function startAll(files) {
    Array.prototype.forEach.call(files, function (file) {
      new Row(file).start();
    });
  }

  function fingerprint(file) {
    return ["tus", file.name, file.type, file.size, file.lastModified].join("|");
  }

  /* A size as a person reads it: KB below 1 MB (a 120 KB photo is not "0,1 MB"), MB above; localised. */
  function sizeText(bytes) {
    if (bytes < 1024 * 1024) {
      var kilobytes = bytes > 0 ? Math.max(1, Math.round(bytes / 1024)) : 0;
      return kilobyteFormat.format(kilobytes) + " KB";
    }
    return megabyteFormat.format(bytes / (1024 * 1024)) + " MB";
  }

  /* The server's message from a tus-js-client error, when the server sent one. */
  function serverMessage(error, fallback) {
    var response = error && error.originalResponse;
    if (!response) {
      return fallback;
    }
    try {
      return JSON.parse(response.getBody()).message || fallback;
    } catch (parseError) {
      return fallback;
    }
  }

  function statusOf(error) {
    return error && error.originalResponse ? error.originalResponse.getStatus() : 0;
  }

  /* Reload the server's list; rows that it now shows as finished files leave the progress list. */
  function refreshFileList(done) {
    fetch(fileList.dataset.url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response);
      })
      .then(function (html) {
        fileList.innerHTML = html;
        hideResumedServerRows();
        if (done) {
          done();
        }
      })
      .catch(function () {
        if (done) {
          done();
        }
      });
  }

  /* A file being uploaded again in this page shows once: its progress row, not also the server's "interrupted" row. */
  function hideResumedServerRows() {
    progressList.querySelectorAll("[data-upload-id]").forEach(function (row) {
      var server = fileList.querySelector('[data-upload-id="' + row.dataset.uploadId + '"]');
      if (server && row.dataset.state !== "done") {
        server.hidden = true;
      }
    });
  }

  function Row(file, hooks) {
    this.file = file;
    this.hooks = hooks || {};
    this.key = fingerprint(file);
    this.row = document.createElement("li");
    this.row.className = "file upload-item";
    var main = document.createElement("div");
    main.className = "file__main";
    var name = document.createElement("span");
    name.className = "file__name";
    name.textContent = file.name;
    this.bar = document.createElement("progress");
    this.bar.max = 100;
    this.bar.value = 0;
    this.bar.setAttribute("aria-label", file.name);
    this.label = document.createElement("span");
    this.label.className = "file__meta upload-text";
    main.append(name, this.bar, this.label);
    this.button = document.createElement("button");
    this.button.type = "button";
    this.button.className = "button button--secondary button--small upload-cancel";
    this.button.textContent = text.msgCancel;
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = ": " + file.name;
    this.button.append(hidden);
    this.button.addEventListener("click", this.cancel.bind(this));
    this.row.append(main, this.button);
    progressList.append(this.row);
    this.onOnline = this.resumeNow.bind(this);
    window.addEventListener("online", this.onOnline);
    this.upload = new window.tus.Upload(file, this.options());
  }

  Row.prototype.options = function () {
    var self = this;
    var known = null;
    serverUploads.forEach(function (upload) {
      if (upload.fingerprint === self.key) {
        known = upload.url;
      }
    });
    return {
      endpoint: text.endpoint,
      uploadUrl: known,
      chunkSize: chunkSize,
      retryDelays: window.Portal.backoffList(MAX_RETRIES),
      headers: window.Portal.withCsrf(),
      metadata: { filename: this.file.name, filetype: this.file.type, fingerprint: this.key },
      fingerprint: function () {
        return Promise.resolve(self.key);
      },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onUploadUrlAvailable: function () {
        var match = /([0-9a-f-]{36})\/?$/.exec(self.upload.url || "");
        if (match) {
          self.row.dataset.uploadId = match[1];
          self.uploadId = match[1];
          hideResumedServerRows();
        }
      },
      onProgress: function (sent, total) {
        self.state("uploading");
        self.progress(sent, total);
        if (self.hooks.progress) {
          self.hooks.progress(self.label.textContent);
        }
      },
      onShouldRetry: function (error) {
        var status = statusOf(error);
        // No answer (offline, connection reset), a conflict, "locked" or a server error: try again later.
        var retry = status === 0 || status === 409 || status === 423 || status >= 500;
        if (retry) {
          self.state("waiting", status >= 500 ? serverMessage(error, text.msgWaiting) : text.msgWaiting);
        }
        return retry;
      },
      onError: function (error) {
        self.fail(serverMessage(error, text.msgFailed));
      },
      onSuccess: function () {
        self.done();
      },
    };
  };

  Row.prototype.state = function (state, message) {
    this.row.dataset.state = state;
    this.row.classList.toggle("is-error", state === "error");
    if (message !== undefined) {
      this.label.textContent = message;
    }
  };

  Row.prototype.progress = function (sent, total) {
    var size = total || this.file.size;
    var percent = size ? Math.floor((sent / size) * 100) : 100;
    this.bar.value = percent;
    this.row.dataset.percent = String(percent);
    this.label.textContent = percent + " % · " + sizeText(sent) + " " + text.msgOf + " " + sizeText(size);
  };

  Row.prototype.start = function () {
    var self = this;
    this.state("uploading", text.msgUploading);
    this.progress(0);
    this.upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        self.upload.resumeFromPreviousUpload(previous[previous.length - 1]);
      }
      self.upload.start();
    });
  };

  /* Back online: do not wait for the back-off, go on at once from where the server stands. */
  Row.prototype.resumeNow = function () {
    if (this.row.dataset.state !== "waiting") {
      return;
    }
    var upload = this.upload;
    this.state("uploading", text.msgResumed);
    upload.abort().then(function () {
      upload.start();
    });
  };

  Row.prototype.finish = function () {
    window.removeEventListener("online", this.onOnline);
  };

  Row.prototype.done = function () {
    var row = this.row;
    var hooks = this.hooks;
    var uploadId = this.uploadId;
    this.finish();
    this.bar.value = 100;
    this.state("done");
    this.button.remove();
    // The finished file now shows in the server's list (with its state); its progress row leaves.
    refreshFileList(function () {
      row.remove();
    });
    if (hooks.done) {
      hooks.done(uploadId);
    }
  };

  Row.prototype.fail = function (message) {
    var row = this.row;
    this.finish();
    this.bar.hidden = true;
    this.state("error", this.file.name + ": " + message);
    if (this.hooks.failed) {
      this.hooks.failed(message);
    }
    this.label.setAttribute("role", "alert");
    this.button.textContent = text.msgDismiss;
    this.button.className = "button button--secondary button--small upload-dismiss";
    this.button.replaceWith(this.button.cloneNode(true));
    row.querySelector(".upload-dismiss").addEventListener("click", function () {
      row.remove();
    });
    refreshFileList();
  };

  Row.prototype.cancel = function () {
    var row = this.row;
    if (this.hooks.cancelled) {
      this.hooks.cancelled();
    }
    this.finish();
    this.upload.abort(true).then(
      function () {
        row.remove();
        refreshFileList();
      },
      function () {
        row.remove();
        refreshFileList();
      }
    );
  };
})();
