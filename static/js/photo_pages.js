/* Photos of one paper document: the member takes ("Foto aufnehmen", the phone's camera through the file input's
   capture attribute) or chooses photos page after page; each is made smaller on the phone where the browser can
   (long edge 2,000 px, JPEG quality 0.8, turned upright from its EXIF orientation) and uploaded through tus like
   any file (js/uploads.js); the pages show as thumbnails with buttons to move, turn and remove them, every change
   is announced (aria-live) and the whole arrangement is saved on the server (uploads:photo_document), which
   assembles one PDF after transmission. Without JavaScript the section stays hidden and photos are plain files. */
(function () {
  "use strict";
  var composer = document.getElementById("photo-composer");
  if (!composer || !window.PortalUploads || !window.fetch || !window.Portal) {
    return;
  }
  var text = composer.dataset;
  var list = document.getElementById("photo-pages");
  var empty = document.getElementById("photo-pages-empty");
  var status = document.getElementById("photo-status");
  var title = document.getElementById("photo-title");
  var newButton = document.getElementById("photo-new");
  var others = document.getElementById("photo-others");
  var othersList = document.getElementById("photo-others-list");
  var LONG_EDGE = 2000;
  var QUALITY = 0.8;
  var THUMB = 240;
  // Every document of photos the draft has ({key, title, pages}); `current` is the one in the composer. A page's
  // upload may finish after the member has switched to another document: it is saved into the document it
  // belongs to, not into the one on screen.
  var documents = [];
  var current = { key: null, title: "", pages: [] };
  var saving = Promise.resolve();
  var titleTimer = null;

  function format(message, values) {
    return message.replace(/%\((\w+)\)s/g, function (_match, name) {
      return String(values[name]);
    });
  }

  function announce(message) {
    status.textContent = message;
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    });
    return [hex.slice(0, 4), hex.slice(4, 6), hex.slice(6, 8), hex.slice(8, 10), hex.slice(10)]
      .map(function (part) {
        return part.join("");
      })
      .join("-");
  }

  /* The photo made smaller and upright where the browser can; the original when it cannot (HEIC in most
     browsers, an old browser, a photo already small). Resolves to {file, thumb}. */
  function prepare(file) {
    if (!window.createImageBitmap || !document.createElement("canvas").toBlob) {
      return Promise.resolve({ file: file, thumb: "" });
    }
    return window
      .createImageBitmap(file, { imageOrientation: "from-image" })
      .then(function (bitmap) {
        var scale = Math.min(1, LONG_EDGE / Math.max(bitmap.width, bitmap.height));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        var thumbScale = Math.min(1, THUMB / Math.max(canvas.width, canvas.height));
        var small = document.createElement("canvas");
        small.width = Math.max(1, Math.round(canvas.width * thumbScale));
        small.height = Math.max(1, Math.round(canvas.height * thumbScale));
        small.getContext("2d").drawImage(canvas, 0, 0, small.width, small.height);
        var thumb = small.toDataURL("image/jpeg", 0.7);
        if (bitmap.close) {
          bitmap.close();
        }
        return new Promise(function (resolve) {
          canvas.toBlob(
            function (blob) {
              if (!blob || (scale === 1 && blob.size >= file.size)) {
                resolve({ file: file, thumb: thumb }); // nothing gained: keep the original
                return;
              }
              var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
              resolve({ file: new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified }), thumb: thumb });
            },
            "image/jpeg",
            QUALITY
          );
        });
      })
      .catch(function () {
        return { file: file, thumb: "" };
      });
  }

  /* The server keeps the whole arrangement; each save waits for the one before, so they arrive in order. */
  function save(doc, announceSaved) {
    if (!doc.key) {
      doc.key = newKey();
    }
    if (documents.indexOf(doc) < 0) {
      documents.push(doc);
    }
    if (doc === current) {
      doc.title = title.value;
    }
    var body = JSON.stringify({
      key: doc.key,
      title: doc.title,
      pages: doc.pages
        .filter(function (page) {
          return page.id;
        })
        .map(function (page) {
          return { id: page.id, rotation: page.rotation };
        }),
    });
    saving = saving.then(function () {
      return fetch(text.url, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: window.Portal.withCsrf({ "Content-Type": "application/json", Accept: "application/json" }),
      })
        .then(function (response) {
          return response.json().then(function (data) {
            if (!response.ok) {
              announce(data.message || text.msgFailed);
              return;
            }
            if (announceSaved) {
              announce(text.msgSaved);
            }
            window.PortalUploads.refresh();
          });
        })
        .catch(function () {
          announce(text.msgFailed);
        });
    });
    return saving;
  }

  function button(label, pageNumber, className, action) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = "button button--secondary button--small " + className;
    element.textContent = label;
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = ": " + format(text.msgPage, { page: pageNumber, count: current.pages.length });
    element.append(hidden);
    element.addEventListener("click", action);
    return element;
  }

  /* The draft's other documents of photos, each with a button that brings it back into the composer. */
  function renderOthers() {
    othersList.textContent = "";
    var shown = documents.filter(function (doc) {
      return doc !== current && doc.pages.length > 0;
    });
    others.hidden = shown.length === 0;
    shown.forEach(function (doc) {
      var item = document.createElement("li");
      item.className = "composer__other";
      var name = document.createElement("span");
      name.className = "composer__other-name";
      name.textContent = format(doc.pages.length === 1 ? text.msgOtherOne : text.msgOther, {
        title: doc.title || text.msgUntitled,
        count: doc.pages.length,
      });
      var edit = document.createElement("button");
      edit.type = "button";
      edit.className = "button button--secondary button--small photo-edit";
      edit.textContent = text.msgEdit;
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = ": " + (doc.title || text.msgUntitled);
      edit.append(hidden);
      edit.addEventListener("click", function () {
        showDocument(doc);
      });
      item.append(name, edit);
      othersList.append(item);
    });
  }

  /* Put `doc` (a known document, or a new empty one) into the composer; the one there stays in the list. */
  function showDocument(doc) {
    saveTitleNow();
    current.title = title.value;
    current = doc;
    title.value = doc.title;
    render();
    title.focus();
    if (doc.pages.length) {
      var editing = doc.pages.length === 1 ? text.msgEditingOne : text.msgEditing;
      announce(format(editing, { title: doc.title || text.msgUntitled, count: doc.pages.length }));
    } else {
      announce("");
    }
  }

  function render(focus) {
    var pages = current.pages;
    renderOthers();
    list.textContent = "";
    empty.hidden = pages.length > 0;
    newButton.hidden = pages.length === 0;
    pages.forEach(function (page, index) {
      var number = index + 1;
      var item = document.createElement("li");
      item.className = "page";
      item.dataset.pageId = page.id || "";
      item.dataset.rotation = String(page.rotation);
      var frame = document.createElement("div");
      frame.className = "page__frame";
      var image = document.createElement("img");
      image.className = "page__thumb";
      image.alt = format(text.msgThumb, { page: number });
      if (page.thumb || page.url) {
        image.src = page.thumb || page.url;
      }
      image.style.transform = "rotate(" + page.rotation + "deg)";
      frame.append(image);
      var body = document.createElement("div");
      body.className = "page__body";
      var heading = document.createElement("p");
      heading.className = "page__title";
      heading.textContent = format(text.msgPage, { page: number, count: pages.length });
      if (page.rotation) {
        heading.textContent += " · " + format(text.msgTurned, { degrees: page.rotation });
      }
      var state = document.createElement("p");
      state.className = "page__state";
      state.textContent = page.state;
      page.stateNode = state;
      var buttons = document.createElement("div");
      buttons.className = "page__buttons";
      var earlier = button(text.msgEarlier, number, "page-earlier", function () {
        move(index, -1);
      });
      earlier.disabled = index === 0;
      var later = button(text.msgLater, number, "page-later", function () {
        move(index, 1);
      });
      later.disabled = index === pages.length - 1;
      var turn = button(text.msgTurn, number, "page-turn", function () {
        rotate(index);
      });
      var remove = button(text.msgRemove, number, "page-remove", function () {
        drop(index);
      });
      buttons.append(earlier, later, turn, remove);
      body.append(heading, state);
      item.append(frame, body, buttons);
      list.append(item);
      if (focus && focus.index === index) {
        var target = item.querySelector("." + focus.button + ":not(:disabled)") || item.querySelector(".page-turn");
        target.focus();
      }
    });
  }

  function move(index, step) {
    var pages = current.pages;
    var to = index + step;
    if (to < 0 || to >= pages.length) {
      return;
    }
    var page = pages.splice(index, 1)[0];
    pages.splice(to, 0, page);
    render({ index: to, button: step < 0 ? "page-earlier" : "page-later" });
    announce(format(text.msgMoved, { page: to + 1, count: pages.length }));
    save(current, false);
  }

  function rotate(index) {
    var page = current.pages[index];
    page.rotation = (page.rotation + 90) % 360;
    render({ index: index, button: "page-turn" });
    announce(format(text.msgRotated, { page: index + 1, degrees: page.rotation }));
    save(current, false);
  }

  function drop(index) {
    var pages = current.pages;
    var page = pages.splice(index, 1)[0];
    if (page.row && !page.id) {
      page.row.cancel();
    } else if (page.id) {
      // In the same queue as the saves: the upload is gone before the arrangement without it arrives.
      saving = saving.then(function () {
        return fetch(text.tus + page.id + "/", {
          method: "DELETE",
          credentials: "same-origin",
          headers: window.Portal.withCsrf({ "Tus-Resumable": "1.0.0" }),
        })
          .then(function () {
            window.PortalUploads.refresh();
          })
          .catch(function () {
            announce(text.msgFailed);
          });
      });
    }
    render(pages.length ? { index: Math.min(index, pages.length - 1), button: "page-remove" } : null);
    if (!pages.length) {
      title.focus();
    }
    var removed = [text.msgRemovedAll, text.msgRemovedOne][pages.length] || text.msgRemoved;
    announce(format(removed, { page: index + 1, count: pages.length }));
    save(current, false);
  }

  function setState(page, message) {
    page.state = message;
    if (page.stateNode) {
      page.stateNode.textContent = message;
    }
  }

  /* A page for `doc`: it stays that document's page even if the member opens another one while it uploads. */
  function add(file, doc) {
    var pages = doc.pages;
    var page = { id: "", rotation: 0, thumb: "", state: text.msgPreparing, row: null };
    pages.push(page);
    if (doc === current) {
      render();
      announce(format(text.msgAdded, { page: pages.length }));
    }
    return prepare(file).then(function (prepared) {
      if (pages.indexOf(page) < 0) {
        return; // removed while it was being prepared
      }
      page.thumb = prepared.thumb;
      if (doc === current) {
        render();
      }
      page.row = window.PortalUploads.upload(prepared.file, {
        progress: function (message) {
          setState(page, message);
        },
        done: function (uploadId) {
          page.id = uploadId;
          setState(page, text.msgUploaded);
          var item = doc === current ? list.children[pages.indexOf(page)] : null;
          if (item) {
            item.dataset.pageId = uploadId;
          }
          if (pages.indexOf(page) >= 0) {
            save(doc, false);
          }
        },
        failed: function (message) {
          setState(page, message);
        },
        cancelled: function () {
          var at = pages.indexOf(page);
          if (at >= 0) {
            pages.splice(at, 1);
            render();
          }
        },
      });
    });
  }

  function addAll(input) {
    var files = Array.prototype.slice.call(input.files);
    var doc = current;
    input.value = "";
    // One after the other, so the pages keep the order in which they were taken or chosen.
    files.reduce(function (previous, file) {
      return previous.then(function () {
        return add(file, doc);
      });
    }, Promise.resolve());
  }

  document.getElementById("photo-camera").addEventListener("change", function (event) {
    addAll(event.target);
  });
  document.getElementById("photo-choose").addEventListener("change", function (event) {
    addAll(event.target);
  });
  function uploaded(doc) {
    return doc.pages.some(function (page) {
      return page.id;
    });
  }

  /* A name being typed is saved 600 ms after the last key, or at once when the member opens another document. */
  function saveTitleNow() {
    if (titleTimer === null) {
      return;
    }
    window.clearTimeout(titleTimer);
    titleTimer = null;
    if (uploaded(current)) {
      save(current, false);
    }
  }

  title.addEventListener("input", function () {
    window.clearTimeout(titleTimer);
    titleTimer = window.setTimeout(function () {
      titleTimer = null;
      if (uploaded(current)) {
        save(current, false);
      }
    }, 600);
  });
  newButton.addEventListener("click", function () {
    showDocument({ key: null, title: "", pages: [] });
  });

  // After a reload: the draft's documents made of photos come back with their pages, as the server has them; the
  // latest is in the composer, the others are listed with a button to edit them.
  JSON.parse(document.getElementById("photo-documents").textContent || "[]").forEach(function (known) {
    documents.push({
      key: known.key,
      title: known.title,
      pages: known.pages.map(function (page) {
        return { id: page.id, rotation: page.rotation, url: page.url, thumb: "", state: page.name, row: null };
      }),
    });
  });
  if (documents.length) {
    current = documents[documents.length - 1];
    title.value = current.title;
  }
  composer.hidden = false;
  render();
})();
