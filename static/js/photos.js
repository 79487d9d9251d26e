// Photos of records on the phone (/inspect): a picker per form (the camera, or the
// gallery), photos scaled down before they are sent (longest side 1600 px, JPEG 0.85,
// upright), and the thumbnails of stored photos that open full size.
// The server checks and cleans every photo again (layers/records/photos.py).
(function () {
  "use strict";

  const HS = window.HS;
  const MAX_SIDE = 1600;
  const QUALITY = 0.85;

  // --- scaling ------------------------------------------------------------------

  // The file as a JPEG Blob, upright, at most MAX_SIDE px on its longest side. A JPEG's
  // EXIF (position, time) is carried over with its orientation set to 1 (the pixels are
  // upright now): the server keeps the position and time and drops the rest.
  HS.scalePhoto = async function (file) {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    if (bitmap.close) bitmap.close();
    const scaled = await new Promise((resolve, reject) => {
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("无法压缩照片"))), "image/jpeg", QUALITY);
    });
    const exif = file.type === "image/jpeg" ? exifSegment(new Uint8Array(await file.slice(0, 131072).arrayBuffer())) : null;
    if (!exif) return scaled;
    const jpeg = new Uint8Array(await scaled.arrayBuffer());
    return new Blob([jpeg.subarray(0, 2), exif, jpeg.subarray(2)], { type: "image/jpeg" });
  };

  // The APP1 Exif segment of a JPEG (its first 128 KB), with Orientation set to 1; null if none.
  function exifSegment(bytes) {
    if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
    let at = 2;
    while (at + 4 <= bytes.length && bytes[at] === 0xff) {
      const marker = bytes[at + 1];
      const length = (bytes[at + 2] << 8) | bytes[at + 3];
      if (marker === 0xda || marker === 0xd9) return null; // image data: no EXIF before it
      const start = at + 4;
      if (marker === 0xe1 && start + 6 <= bytes.length &&
          String.fromCharCode(...bytes.subarray(start, start + 4)) === "Exif") {
        if (at + 2 + length > bytes.length) return null;
        const segment = bytes.slice(at, at + 2 + length);
        uprightOrientation(segment, 4 + 6);
        return segment;
      }
      at += 2 + length;
    }
    return null;
  }

  // Set the Orientation tag (0x0112) of IFD0 to 1, in the TIFF data at `tiff` of `segment`.
  function uprightOrientation(segment, tiff) {
    const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
    if (tiff + 8 > segment.length) return;
    const little = view.getUint16(tiff) === 0x4949;
    const ifd = tiff + view.getUint32(tiff + 4, little);
    if (ifd + 2 > segment.length) return;
    const entries = view.getUint16(ifd, little);
    for (let n = 0; n < entries; n++) {
      const entry = ifd + 2 + n * 12;
      if (entry + 12 > segment.length) return;
      if (view.getUint16(entry, little) === 0x0112) view.setUint16(entry + 8, 1, little);
    }
  }

  // --- the picker ---------------------------------------------------------------

  // A picker in `box` (an element holding an <input type=file> and a <ul> for the
  // thumbnails of the chosen photos). photos() resolves to the scaled Blobs once every
  // chosen photo is scaled; clear() forgets them.
  HS.photoPicker = function (box, max) {
    const input = box.querySelector("input[type=file]");
    const list = box.querySelector(".hs-photo-list");
    const error = box.querySelector(".hs-photo-error");
    let chosen = []; // {blob, url}
    let pending = Promise.resolve();

    function say(text) {
      if (!error) return;
      error.textContent = text || "";
      error.hidden = !text;
    }

    function render() {
      while (list.firstChild) list.removeChild(list.firstChild);
      chosen.forEach((photo, n) => {
        const item = HS.el("li", null, "hs-photo");
        const image = HS.el("img");
        image.src = photo.url;
        image.alt = "待上传照片 " + (n + 1);
        const remove = HS.el("button", "移除", "hs-photo-remove");
        remove.type = "button";
        remove.setAttribute("aria-label", "移除照片 " + (n + 1));
        remove.addEventListener("click", () => {
          URL.revokeObjectURL(photo.url);
          chosen = chosen.filter((p) => p !== photo);
          render();
        });
        item.appendChild(image);
        item.appendChild(remove);
        list.appendChild(item);
      });
      box.dataset.photos = String(chosen.length);
    }

    async function add(files) {
      say("");
      const unreadable = [];
      for (const file of files) {
        if (chosen.length >= max) {
          say("每条记录最多 " + max + " 张照片,多选的未加入。");
          break;
        }
        try {
          const blob = await HS.scalePhoto(file);
          chosen.push({ blob: blob, url: URL.createObjectURL(blob) });
        } catch {
          unreadable.push(file.name);
        }
      }
      if (unreadable.length) say("无法读取照片(不是图片或已损坏):" + unreadable.join("、"));
      render();
    }

    input.addEventListener("change", () => {
      const files = Array.from(input.files);
      input.value = ""; // the same photo can be chosen again
      pending = pending.then(() => add(files));
    });

    return {
      photos: () => pending.then(() => chosen.map((p) => p.blob)),
      clear: () => {
        for (const p of chosen) URL.revokeObjectURL(p.url);
        chosen = [];
        say("");
        render();
      },
    };
  };

  // A picker made on the page (the 整改中 step of each hazard): the same elements as
  // the template's.
  HS.photoPickerBox = function (label) {
    const box = HS.el("div", null, "hs-photos");
    const pick = HS.el("label", label, "hs-photo-add");
    const input = HS.el("input");
    input.type = "file";
    input.accept = "image/*";
    input.setAttribute("capture", "environment");
    input.multiple = true;
    pick.appendChild(input);
    box.appendChild(pick);
    box.appendChild(HS.el("ul", null, "hs-photo-list"));
    const error = HS.el("p", null, "hs-photo-error");
    error.hidden = true;
    box.appendChild(error);
    return box;
  };

  // --- stored photos ----------------------------------------------------------------

  // Thumbnails of stored photos ({id, width, height}), each a link to the full image.
  // `urls`: {photo, photoThumb} with %7Bid%7D for the id.
  HS.photoStrip = function (photos, urls, label) {
    const strip = HS.el("div", null, "hs-photo-strip");
    strip.setAttribute("aria-label", label || "照片");
    photos.forEach((photo, n) => {
      const link = HS.el("a");
      link.href = urls.photo.replace("%7Bid%7D", encodeURIComponent(photo.id));
      link.target = "_blank";
      link.rel = "noopener";
      const image = HS.el("img");
      image.src = urls.photoThumb.replace("%7Bid%7D", encodeURIComponent(photo.id));
      image.alt = (label || "照片") + " " + (n + 1);
      image.loading = "lazy";
      const scale = Math.min(1, 240 / Math.max(photo.width, photo.height));
      image.width = Math.round(photo.width * scale);
      image.height = Math.round(photo.height * scale);
      if (photo.taken_at) image.title = "拍摄于 " + photo.taken_at.replace("T", " ");
      link.appendChild(image);
      strip.appendChild(link);
    });
    return strip;
  };
})();
