/* A click on a figure opens its image at full size (a local file: offline). */
document.addEventListener("DOMContentLoaded", function () {
  var images = document.querySelectorAll(
    ".bd-article img.sphx-glr-single-img, .bd-article div.figure img, " +
    ".bd-article figure img"
  );
  images.forEach(function (img) {
    if (img.closest("a")) return;
    var link = document.createElement("a");
    link.href = img.currentSrc || img.src;
    link.className = "mlpinspect-image-link";
    link.title = "open the image at full size";
    img.parentNode.insertBefore(link, img);
    link.appendChild(img);
  });
});
