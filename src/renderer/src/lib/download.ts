/** Starts the browser's download of a URL (a served file, or a Blob's object URL) under a file name. */
export function saveDownload(url: string, fileName: string): void {
  const link = document.createElement('a')
  link.href = url
  link.download = fileName
  document.body.append(link)
  link.click()
  link.remove()
}
